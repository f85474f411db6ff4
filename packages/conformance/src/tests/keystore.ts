import type { EncryptionContext } from '@keystore/core';
import { check, checkBytes, checkEqual, codeOf, describeError, fail, rejects, step } from '../assert.js';
import { fromUtf8, randomBytes, utf8 } from '../bytes.js';
import type { BulkItemLike, BulkResultLike, KeystoreLike } from '../types.js';
import { CONTEXT, defineTest, replaceChar, versionAfterRotation } from './helpers.js';

const LARGE = 4 * 1024 * 1024;

async function roundTrip(
  keystore: KeystoreLike,
  key: string,
  data: string | Uint8Array,
  what: string,
  context?: EncryptionContext,
): Promise<string> {
  const options = context === undefined ? { key } : { key, context };
  const envelope = await step(`encrypt ${what}`, keystore.encrypt(data, options));
  check(
    typeof envelope === 'string' && envelope.length > 0,
    `encrypt ${what}: the envelope must be a string`,
  );
  const back = await step(
    `decrypt ${what}`,
    keystore.decrypt(envelope, context === undefined ? {} : { context }),
  );
  checkBytes(back, typeof data === 'string' ? utf8(data) : data, `decrypt(encrypt(${what}))`);
  return envelope;
}

export const keystoreTests = [
  defineTest({
    name: 'Keystore round trip: text, bytes, empty and 4 MiB payloads',
    group: 'keystore',
    requires: ['keystore', 'key'],
    description:
      'encrypt then decrypt gives back text (UTF-8), bytes, an empty payload and a 4 MiB payload; inspect names the provider, key and version; the envelope does not hold the plaintext.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const key = await ctx.key();
      const text = `conformance ✓ ${ctx.unusedKeyId('text')}`;
      const envelope = await roundTrip(keystore, key, text, 'a text', CONTEXT);
      check(!envelope.includes(text), 'the envelope holds the plaintext');
      const info = keystore.inspect(envelope);
      checkEqual(info.provider, ctx.provider.type, 'inspect().provider');
      checkEqual(info.keyId, key, 'inspect().keyId');
      check(Number.isSafeInteger(info.version) && info.version >= 1, 'inspect().version must be >= 1');
      check(typeof info.algorithm === 'string' && info.algorithm.length > 0, 'inspect().algorithm');
      await roundTrip(keystore, key, randomBytes(1000), '1000 random bytes', CONTEXT);
      await roundTrip(keystore, key, new Uint8Array(0), 'an empty payload');
      await roundTrip(keystore, key, '', 'an empty string', CONTEXT);
      await roundTrip(keystore, key, randomBytes(LARGE), 'a 4 MiB payload', CONTEXT);
      const first = await step('encrypt', keystore.encrypt(text, { key, context: CONTEXT }));
      check(first !== envelope, 'encrypting the same text twice gave the same envelope');
      checkEqual(
        fromUtf8(await step('decrypt', keystore.decrypt(first, { context: CONTEXT }))),
        text,
        'decrypt of a second envelope of the same text',
      );
    },
  }),

  defineTest({
    name: 'Keystore decrypt requires the same context',
    group: 'keystore',
    requires: ['keystore', 'key'],
    description:
      'decrypt fails with InvalidToken unless given exactly the context the envelope was made with: another value, a subset, a superset or none.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const key = await ctx.key();
      const envelope = await step('encrypt', keystore.encrypt('bound', { key, context: CONTEXT }));
      const wrong: Record<string, EncryptionContext | undefined> = {
        'another value': { ...CONTEXT, tenant: 'someone-else' },
        'a subset': { tenant: 'conformance' },
        'a superset': { ...CONTEXT, extra: 'entry' },
        'no context': undefined,
      };
      for (const [label, context] of Object.entries(wrong)) {
        await rejects(
          `decrypt with ${label}`,
          keystore.decrypt(envelope, context === undefined ? {} : { context }),
          'InvalidToken',
        );
        await rejects(
          `reencrypt with ${label}`,
          keystore.reencrypt(envelope, context === undefined ? {} : { context }),
          'InvalidToken',
        );
      }
      const bare = await step('encrypt without a context', keystore.encrypt('bare', { key }));
      await rejects(
        'decrypt of an envelope made without a context, given one',
        keystore.decrypt(bare, { context: CONTEXT }),
        'InvalidToken',
      );
    },
  }),

  defineTest({
    name: 'Keystore rejects a tampered or truncated envelope with InvalidToken',
    group: 'keystore',
    requires: ['keystore', 'key'],
    description:
      'An envelope with a changed character in its payload, cut short, or that is not an envelope at all fails with InvalidToken; one with a changed header fails with InvalidToken, or KeyNotFound / AccessDenied when it names another key or provider.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const key = await ctx.key();
      const envelope = await step('encrypt', keystore.encrypt(randomBytes(3000), { key, context: CONTEXT }));
      const n = envelope.length;
      const variants: Record<string, string> = {
        'a character changed at 1/2': replaceChar(envelope, Math.floor(n / 2)),
        'a character changed at 3/4': replaceChar(envelope, Math.floor((3 * n) / 4)),
        'a character changed near the end': replaceChar(envelope, n - 8),
        'the last 10 characters cut off': envelope.slice(0, n - 10),
        'only the first half': envelope.slice(0, Math.floor(n / 2)),
        'an empty string': '',
        'not an envelope': 'not an envelope',
      };
      for (const [label, tampered] of Object.entries(variants)) {
        await rejects(
          `decrypt of an envelope with ${label}`,
          keystore.decrypt(tampered, { context: CONTEXT }),
          ['InvalidToken'],
        );
      }
      // The header (near the start) names provider, key and version: a change there may name a key or
      // provider that is not there (KeyNotFound) or not allowed (AccessDenied); anything else is InvalidToken.
      const headerCodes = ['InvalidToken', 'KeyNotFound', 'AccessDenied'];
      const wrong: string[] = [];
      for (let index = 4; index < Math.min(48, n); index += 2) {
        try {
          await keystore.decrypt(replaceChar(envelope, index), { context: CONTEXT });
          wrong.push(`character ${index}: decrypted`);
        } catch (error) {
          const code = codeOf(error);
          if (code === undefined || !headerCodes.includes(code))
            wrong.push(`character ${index}: ${describeError(error)}`);
        }
      }
      if (wrong.length > 0) {
        fail(`envelopes with a changed header must fail with ${headerCodes.join(', ')}; ${wrong.join('; ')}`);
      }
    },
  }),

  defineTest({
    name: 'Keystore rotation: new envelopes use the newest version, old ones still decrypt',
    group: 'keystore',
    requires: ['keystore', 'createKey', 'rotateKey'],
    description:
      'After Keystore.rotate, inspect shows new envelopes at the new version and old envelopes at theirs (in place: both at the constant version), and both decrypt.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const key = await ctx.createKey('keystore-rotate');
      const old = await roundTrip(keystore, key, 'before rotation', 'before rotation', CONTEXT);
      const before = keystore.inspect(old).version;
      const meta = await step('Keystore.rotate', keystore.rotate(key));
      const after = versionAfterRotation(ctx, before);
      checkEqual(meta.latestVersion, after, `Keystore.rotate(): latestVersion (${ctx.versioning} versions)`);
      const fresh = await roundTrip(keystore, key, 'after rotation', 'after rotation', CONTEXT);
      checkEqual(keystore.inspect(fresh).version, after, 'inspect().version of a new envelope');
      checkEqual(keystore.inspect(old).version, before, 'inspect().version of an old envelope');
      checkEqual(
        fromUtf8(await step('decrypt of the old envelope', keystore.decrypt(old, { context: CONTEXT }))),
        'before rotation',
        'decrypt of the old envelope after rotation',
      );
    },
  }),

  defineTest({
    name: 'Keystore reencrypt moves an envelope to the newest version',
    group: 'keystore',
    requires: ['keystore', 'createKey', 'rotateKey'],
    description:
      'After rotation, reencrypt gives an envelope at the newest version (in place: the constant version, with a new wrapped key) with the same plaintext; the old envelope still decrypts.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const key = await ctx.createKey('keystore-reencrypt');
      const plaintext = randomBytes(500);
      const old = await step('encrypt', keystore.encrypt(plaintext, { key, context: CONTEXT }));
      await step('Keystore.rotate', keystore.rotate(key));
      const meta = await step('Keystore.rotate', keystore.rotate(key));
      const moved = await step('reencrypt', keystore.reencrypt(old, { context: CONTEXT }));
      const info = keystore.inspect(moved);
      checkEqual(info.keyId, key, 'inspect().keyId after reencrypt');
      checkEqual(info.version, meta.latestVersion, 'inspect().version after reencrypt');
      check(moved !== old, 'reencrypt after rotation returned the envelope unchanged');
      checkBytes(
        await step('decrypt of the reencrypted envelope', keystore.decrypt(moved, { context: CONTEXT })),
        plaintext,
        'decrypt after reencrypt',
      );
      checkBytes(
        await step('decrypt of the old envelope', keystore.decrypt(old, { context: CONTEXT })),
        plaintext,
        'decrypt of the old envelope after reencrypt',
      );
      await rejects(
        'decrypt of the reencrypted envelope without its context',
        keystore.decrypt(moved, {}),
        'InvalidToken',
      );
    },
  }),

  defineTest({
    name: 'Keystore encrypt under an unknown key fails with KeyNotFound',
    group: 'keystore',
    requires: ['keystore'],
    description: 'encrypt naming a key the provider does not have fails with KeyNotFound.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      await rejects(
        'encrypt under an unknown key',
        keystore.encrypt('data', { key: ctx.unusedKeyId('missing'), context: CONTEXT }),
        'KeyNotFound',
      );
    },
  }),

  defineTest({
    name: 'Keystore decryptMany and reencryptMany: each item its own result',
    group: 'keystore',
    requires: ['keystore', 'key'],
    description:
      'decryptMany and reencryptMany give one result per envelope in order; a wrong context, a tampered envelope and a non-envelope fail with InvalidToken in their own slots while the others decrypt (and, after a rotation, move to the newest version). Unless the provider re-wraps server-side (capability rewrapKey, where the data key is never at hand), reencrypt and reencryptMany check the payload first: a tampered payload fails with InvalidToken instead of getting a fresh envelope.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const { decryptMany, reencryptMany } = keystore;
      if (decryptMany === undefined || reencryptMany === undefined) {
        return ctx.skip('the Keystore has no decryptMany/reencryptMany');
      }
      const canRotate = ctx.capabilities.createKey && ctx.capabilities.rotateKey;
      const key = canRotate ? await ctx.createKey('keystore-bulk') : await ctx.key();
      const count = 60;
      const plaintexts = Array.from({ length: count }, () => randomBytes(64));
      const contexts = plaintexts.map((_, i) => ({ ...CONTEXT, item: String(i) }));
      const envelopes = await Promise.all(
        plaintexts.map((p, i) => step(`encrypt ${i}`, keystore.encrypt(p, { key, context: contexts[i] }))),
      );
      const items = envelopes.map((envelope, i) => ({ envelope, context: contexts[i] as EncryptionContext }));
      // Item 23 has a tampered payload: decrypt must fail. reencrypt checks the payload under the
      // data key where it has it; only a server-side re-wrap (no data key at hand) may carry it over.
      const TAMPERED = 23;
      const tamperedMayMove = ctx.capabilities.rewrapKey ? TAMPERED : undefined;
      const bad = new Set([5, TAMPERED, 41]);
      items[5] = { envelope: envelopes[5] as string, context: CONTEXT };
      items[23] = {
        envelope: replaceChar(envelopes[23] as string, (envelopes[23] as string).length - 20),
        context: contexts[23] as EncryptionContext,
      };
      items[41] = { envelope: 'not an envelope', context: contexts[41] as EncryptionContext };

      const checkSlots = <T>(
        what: string,
        results: readonly BulkResultLike<T>[],
        good: (i: number, value: T) => void,
        mayPass?: number,
      ) => {
        checkEqual(results.length, count, `${what}: number of results`);
        results.forEach((r, i) => {
          if (i === mayPass && r.ok) {
            good(i, r.value);
          } else if (bad.has(i)) {
            if (r.ok || codeOf(r.error) !== 'InvalidToken') {
              fail(
                `${what}: item ${i} must fail with InvalidToken in its slot, got ${r.ok ? 'a result' : describeError(r.error)}`,
              );
            }
          } else if (!r.ok) {
            fail(`${what}: item ${i} failed: ${describeError(r.error)}`, r.error);
          } else {
            good(i, r.value);
          }
        });
      };

      const decrypted = await step('decryptMany', decryptMany.call(keystore, items));
      checkSlots('decryptMany', decrypted, (i, value) =>
        checkBytes(value, plaintexts[i] as Uint8Array, `decryptMany: item ${i}`),
      );

      const latest = canRotate
        ? (await step('Keystore.rotate', keystore.rotate(key))).latestVersion
        : undefined;
      const moved = await step('reencryptMany', reencryptMany.call(keystore, items));
      const reencrypted: [number, string][] = [];
      checkSlots(
        'reencryptMany',
        moved,
        (i, envelope) => {
          if (latest !== undefined)
            checkEqual(keystore.inspect(envelope).version, latest, `reencryptMany: version of item ${i}`);
          reencrypted.push([i, envelope]);
        },
        tamperedMayMove,
      );
      if (tamperedMayMove === undefined) {
        const tampered = items[TAMPERED] as BulkItemLike;
        await rejects(
          'reencrypt of an envelope whose payload was tampered with (the data key is at hand)',
          keystore.reencrypt(tampered.envelope, { context: contexts[TAMPERED] }),
          'InvalidToken',
        );
      }
      for (const [i, envelope] of reencrypted) {
        if (i === TAMPERED) {
          await rejects(
            'decrypt of a reencrypted envelope whose payload was tampered with',
            keystore.decrypt(envelope, { context: contexts[i] }),
            'InvalidToken',
          );
          continue;
        }
        checkBytes(
          await step(
            `decrypt of reencryptMany item ${i}`,
            keystore.decrypt(envelope, { context: contexts[i] }),
          ),
          plaintexts[i] as Uint8Array,
          `decrypt of reencryptMany item ${i}`,
        );
      }
    },
  }),
];
