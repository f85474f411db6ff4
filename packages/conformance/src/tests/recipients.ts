import { inspect } from 'node:util';
import type { EncryptionContext, KeyProvider, Keystore, KeystoreOptions } from '@keystore/core';
import * as core from '@keystore/core';
import { check, checkBytes, checkEqual, codeOf, describeError, fail, rejects, step } from '../assert.js';
import { fromUtf8, randomBytes, randomHex, secretForms, utf8 } from '../bytes.js';
import type { ConformanceContext } from '../types.js';
import { CONTEXT, defineTest, versionAfterRotation } from './helpers.js';
import { secondRecipientProvider } from './second-recipient.js';

/*
 * The provider under test as one recipient of envelopes of several (format
 * version 2), beside a memory provider of another type. Whatever the first
 * recipient unwraps must be the data key every other recipient wraps, so
 * these tests catch a provider that wraps or unwraps anything but the bytes
 * it is given, or binds its wrap to something a v1 envelope does not carry.
 */

const WRONG_CONTEXT: EncryptionContext = { ...CONTEXT, tenant: 'someone-else' };
/** The recipients' names in the keystores these tests build. */
const UNDER_TEST = 'under-test';
const SECOND = 'second';

type KeystoreConstructor = new (options: KeystoreOptions) => Keystore;

/**
 * Core's Keystore, looked up on the module namespace as `context.ts` does,
 * so an older core without it fails these tests with a clear message.
 */
function newKeystore(options: KeystoreOptions): Keystore {
  const Constructor = (core as unknown as Record<string, unknown>).Keystore;
  if (typeof Constructor !== 'function') {
    return fail('the installed @keystore/core does not export Keystore, which the recipients tests need');
  }
  return new (Constructor as KeystoreConstructor)(options);
}

/** The payload: everything after the last '.' (base64url has none), which adding or removing a recipient keeps. */
const payloadOf = (envelope: string) => envelope.slice(envelope.lastIndexOf('.') + 1);

interface Setup {
  /** The provider under test's key. */
  readonly key: string;
  /** The second recipient's provider (another type), its key and that key's material. */
  readonly second: KeyProvider;
  readonly secondType: string;
  readonly secondKey: string;
  readonly secondMaterial: Uint8Array;
  /** Recipients: the provider under test first, then the second. */
  readonly both: Keystore;
  /** The provider under test alone, as a reader holding only its key configures it. */
  readonly underTestAlone: Keystore;
  /** The second provider alone. */
  readonly secondAlone: Keystore;
  /** The second provider is closed after the test; the one under test is the fixture's to close. */
  dispose(): Promise<void>;
}

async function setup(ctx: ConformanceContext, key: string): Promise<Setup> {
  const second = await secondRecipientProvider(ctx.provider.type);
  const secondKey = `conformance-second-${randomHex(6)}`;
  const secondMaterial = randomBytes(32);
  await step(
    `importKey into the ${second.type} provider`,
    (second.importKey as NonNullable<KeyProvider['importKey']>)(secondKey, new Uint8Array(secondMaterial)),
  );
  return {
    key,
    second,
    secondType: second.type,
    secondKey,
    secondMaterial,
    both: newKeystore({
      recipients: [
        { name: UNDER_TEST, provider: ctx.provider, key },
        { name: SECOND, provider: second, key: secondKey },
      ],
    }),
    underTestAlone: newKeystore({ provider: ctx.provider, defaultKey: key }),
    secondAlone: newKeystore({ provider: second, defaultKey: secondKey }),
    // Closing `both` or `underTestAlone` would close the provider under test before the suite deletes its keys.
    dispose: () => second.close(),
  };
}

/** Runs `test` with a setup whose second provider is closed afterwards. */
async function withSetup(ctx: ConformanceContext, key: string, test: (s: Setup) => Promise<void>) {
  const s = await setup(ctx, key);
  try {
    await test(s);
  } finally {
    await s.dispose();
  }
}

async function opens(keystore: Keystore, envelope: string, expected: string, what: string): Promise<void> {
  const back = await step(what, keystore.decrypt(envelope, { context: CONTEXT }));
  checkEqual(fromUtf8(back), expected, what);
}

/** The recipients `inspect` lists, as `provider key@version` strings, for messages that compare whole lists. */
function recipientsOf(keystore: Keystore, envelope: string): string[] {
  return keystore.inspect(envelope).recipients.map((r) => `${r.provider} '${r.keyId}'@${r.version}`);
}

function checkRecipients(actual: readonly string[], expected: readonly string[], what: string): void {
  checkEqual(actual.join(', '), expected.join(', '), what);
}

/** The rule of core's `combinedCode`: the code all share, else ProviderUnavailable if any, else the first. */
function combined(codes: readonly string[]): string {
  const [first] = codes;
  if (first === undefined) return 'KeyNotFound';
  if (codes.every((c) => c === first)) return first;
  if (codes.includes('ProviderUnavailable')) return 'ProviderUnavailable';
  return first;
}

/** Every way an error is commonly rendered (as the secrecy tests look at it). */
function renderings(error: unknown): string[] {
  const out = [String(error), inspect(error, { depth: 6 })];
  try {
    out.push(JSON.stringify(error) ?? '');
  } catch {
    // A circular error: the other renderings still count.
  }
  if (error instanceof Error) out.push(error.message, error.stack ?? '');
  return out;
}

export const recipientsTests = [
  defineTest({
    name: 'an envelope of two recipients opens with either, whichever made the data key',
    group: 'recipients',
    requires: ['keystore', 'key'],
    description:
      "With the provider's key as the first recipient (it generates the data key) and as the second (it wraps a data key the other recipient made), encrypt gives a version 2 envelope whose inspect lists both recipients with their provider types, keys and versions; a keystore of the provider alone and one of the other provider alone each decrypt it; a wrong context fails with InvalidToken.",
    async run(ctx) {
      const key = await ctx.key();
      await withSetup(ctx, key, async (s) => {
        const version = s.underTestAlone.inspect(
          await step('encrypt (the provider alone)', s.underTestAlone.encrypt('v1', { context: CONTEXT })),
        ).version;
        const underTest = `${ctx.provider.type} '${key}'@${version}`;
        const other = `${s.secondType} '${s.secondKey}'@1`;
        const secondFirst = newKeystore({
          recipients: [
            { name: SECOND, provider: s.second, key: s.secondKey },
            { name: UNDER_TEST, provider: ctx.provider, key },
          ],
        });
        for (const [label, keystore, order] of [
          ['the provider first', s.both, [underTest, other]],
          ['the provider second', secondFirst, [other, underTest]],
        ] as const) {
          const text = `two recipients, ${label} ✓`;
          const envelope = await step(`encrypt with ${label}`, keystore.encrypt(text, { context: CONTEXT }));
          check(envelope.startsWith('ks2.'), `encrypt with ${label}: the envelope must start with 'ks2.'`);
          check(!envelope.includes(text), `encrypt with ${label}: the envelope holds the plaintext`);
          const info = keystore.inspect(envelope);
          checkEqual(info.format, 2, `inspect().format with ${label}`);
          checkRecipients(recipientsOf(keystore, envelope), order, `inspect().recipients with ${label}`);
          await opens(s.underTestAlone, envelope, text, `decrypt by the provider alone (${label})`);
          await opens(
            s.secondAlone,
            envelope,
            text,
            `decrypt by the ${s.secondType} provider alone (${label})`,
          );
          await opens(keystore, envelope, text, `decrypt by both recipients (${label})`);
          for (const [who, reader] of [
            ['both recipients', keystore],
            ['the provider alone', s.underTestAlone],
            [`the ${s.secondType} provider alone`, s.secondAlone],
          ] as const) {
            await rejects(
              `decrypt by ${who} with a wrong context (${label})`,
              reader.decrypt(envelope, { context: WRONG_CONTEXT }),
              'InvalidToken',
            );
          }
        }
      });
    },
  }),

  defineTest({
    name: "adding and removing a recipient keeps the payload and the provider's wrapped key",
    group: 'recipients',
    requires: ['keystore', 'key'],
    description:
      "addRecipient of the other provider to a version 1 envelope of the provider gives a version 2 envelope with the same payload and the provider's recipient at its version, which the other provider alone opens; removing that recipient again gives back the version 1 envelope character for character (the provider's wrapped key unchanged); removing the provider's recipient leaves a version 1 envelope the other provider opens and the provider's keystore cannot (KeyNotFound); removing the last recipient fails with InvalidArgument.",
    async run(ctx) {
      const key = await ctx.key();
      await withSetup(ctx, key, async (s) => {
        const text = 'one recipient, then two';
        const v1 = await step(
          'encrypt (the provider alone)',
          s.underTestAlone.encrypt(text, { context: CONTEXT }),
        );
        check(v1.startsWith('ks1.'), "an envelope of one recipient must start with 'ks1.'");
        const version = s.underTestAlone.inspect(v1).version;
        const underTest = `${ctx.provider.type} '${key}'@${version}`;
        const other = `${s.secondType} '${s.secondKey}'@1`;

        const added = await step(
          `addRecipient('${SECOND}')`,
          s.both.addRecipient(v1, SECOND, { context: CONTEXT }),
        );
        check(added.startsWith('ks2.'), "addRecipient: the envelope must now start with 'ks2.'");
        checkEqual(s.both.inspect(added).format, 2, 'inspect().format after addRecipient');
        checkRecipients(
          recipientsOf(s.both, added),
          [underTest, other],
          'inspect().recipients after addRecipient',
        );
        check(payloadOf(added) === payloadOf(v1), 'addRecipient changed the payload');
        await opens(
          s.secondAlone,
          added,
          text,
          `decrypt by the ${s.secondType} provider alone after addRecipient`,
        );
        await opens(s.underTestAlone, added, text, 'decrypt by the provider alone after addRecipient');
        await rejects(
          'addRecipient with a wrong context',
          s.both.addRecipient(v1, SECOND, { context: WRONG_CONTEXT }),
          'InvalidToken',
        );

        const back = await step(
          `removeRecipient('${SECOND}')`,
          s.both.removeRecipient(added, SECOND, { context: CONTEXT }),
        );
        check(
          back === v1,
          "removing the added recipient must give back the version 1 envelope unchanged (the provider's wrapped key and the payload as they were)",
        );

        const secondOnly = await step(
          `removeRecipient('${UNDER_TEST}')`,
          s.both.removeRecipient(added, UNDER_TEST, { context: CONTEXT }),
        );
        check(secondOnly.startsWith('ks1.'), "an envelope left with one recipient must start with 'ks1.'");
        checkRecipients(
          recipientsOf(s.both, secondOnly),
          [other],
          'inspect().recipients after removing the provider',
        );
        check(payloadOf(secondOnly) === payloadOf(v1), 'removeRecipient changed the payload');
        await opens(
          s.secondAlone,
          secondOnly,
          text,
          `decrypt by the ${s.secondType} provider alone after removing the provider`,
        );
        await rejects(
          "decrypt by the provider alone of an envelope without the provider's recipient",
          s.underTestAlone.decrypt(secondOnly, { context: CONTEXT }),
          'KeyNotFound',
        );
        await rejects(
          'removeRecipient of the last recipient',
          s.both.removeRecipient(secondOnly, SECOND, { context: CONTEXT }),
          'InvalidArgument',
        );
      });
    },
  }),

  defineTest({
    name: "decrypt falls back past the provider's failing recipient, and names each recipient's error",
    group: 'recipients',
    requires: ['keystore', 'createKey', 'deleteKey'],
    description:
      "An envelope of the provider's key (since deleted) and the other provider's key decrypts through the other recipient with decrypt order [provider, other], and decryptMany too; with the other provider closed as well, decrypt fails with NoRecipientOpened whose attempts list both recipients, in that order, with their own codes (the provider's the code its keystore alone gives, the other Closed) and whose code follows the combined rule; no rendering of the error shows the other key's material or the plaintext.",
    async run(ctx) {
      const key = await ctx.createKey('recipients-fallback');
      await withSetup(ctx, key, async (s) => {
        const text = `fallback sentinel ${randomHex(8)}`;
        const v1 = await step(
          'encrypt (the provider alone)',
          s.underTestAlone.encrypt(text, { context: CONTEXT }),
        );
        const version = s.underTestAlone.inspect(v1).version;
        const envelope = await step(
          `addRecipient('${SECOND}')`,
          s.both.addRecipient(v1, SECOND, { context: CONTEXT }),
        );
        await step(`deleteKey('${key}')`, ctx.provider.deleteKey(key, { confirm: key }));
        // Whatever typed error the provider gives for a deleted key (KeyNotFound, or a KMS key pending
        // deletion's own code) is what the envelope's attempt must report for it.
        const ownCode = await step('decrypt by the provider alone after its key was deleted', async () => {
          try {
            await s.underTestAlone.decrypt(v1, { context: CONTEXT });
          } catch (error) {
            const code = codeOf(error);
            if (code === undefined)
              fail(`decrypt after deleteKey: expected a typed error, got ${describeError(error)}`);
            return code;
          }
          return fail('decrypt by the provider alone succeeded after its key was deleted');
        });

        const ordered = newKeystore({
          recipients: [
            { name: UNDER_TEST, provider: ctx.provider, key },
            { name: SECOND, provider: s.second, key: s.secondKey },
          ],
          decryptOrder: [UNDER_TEST, SECOND],
        });
        await opens(ordered, envelope, text, "decrypt with the provider's recipient failing");
        const many = await step(
          'decryptMany',
          ordered.decryptMany([envelope, envelope], { context: CONTEXT }),
        );
        many.forEach((r, i) => {
          if (!r.ok)
            fail(`decryptMany with the provider's recipient failing: item ${i}: ${describeError(r.error)}`);
          checkBytes(r.value, utf8(text), `decryptMany with the provider's recipient failing: item ${i}`);
        });

        await step(`close the ${s.secondType} provider`, s.second.close());
        let thrown: unknown;
        try {
          await ordered.decrypt(envelope, { context: CONTEXT });
        } catch (error) {
          thrown = error;
        }
        if (thrown === undefined) fail('decrypt with both recipients failing succeeded');
        check(
          thrown instanceof core.NoRecipientOpened,
          `decrypt with both recipients failing: expected NoRecipientOpened, got ${describeError(thrown)}`,
        );
        const attempts = thrown.attempts.map(
          (a) => `${a.recipient} ${a.provider} '${a.keyId}'@${a.version}: ${a.code}`,
        );
        checkRecipients(
          attempts,
          [
            `${UNDER_TEST} ${ctx.provider.type} '${key}'@${version}: ${ownCode}`,
            `${SECOND} ${s.secondType} '${s.secondKey}'@1: Closed`,
          ],
          'NoRecipientOpened.attempts',
        );
        checkEqual(thrown.code as string, combined([ownCode, 'Closed']), 'NoRecipientOpened.code');
        const secrets = [...secretForms(s.secondMaterial), text];
        const shown = renderings(thrown).filter((r) => secrets.some((form) => r.includes(form)));
        if (shown.length > 0) fail('NoRecipientOpened shows the key material or the plaintext');
      });
    },
  }),

  defineTest({
    name: "reencrypt after a rotation moves only the provider's recipient",
    group: 'recipients',
    requires: ['keystore', 'createKey', 'rotateKey'],
    description:
      "After rotateKey, reencrypt of a version 2 envelope by the provider's keystore gives the provider's recipient the version its versioning promises (numbered: the next; in place: the constant version, a new wrap) and leaves the other recipient as it was; by the keystore of both, the other recipient stays at its version; the payload is kept, and the provider alone, the other alone and both still open old and new envelopes.",
    async run(ctx) {
      const key = await ctx.createKey('recipients-reencrypt');
      await withSetup(ctx, key, async (s) => {
        const text = 'moved to the newest version';
        const envelope = await step('encrypt (both recipients)', s.both.encrypt(text, { context: CONTEXT }));
        const [mine, theirs] = s.both.inspect(envelope).recipients;
        if (mine === undefined || theirs === undefined)
          return fail('inspect() lists fewer than two recipients');
        const meta = await step(`rotateKey('${key}')`, ctx.provider.rotateKey(key));
        const after = versionAfterRotation(ctx, mine.version);
        checkEqual(meta.latestVersion, after, `rotateKey() latestVersion (${ctx.versioning} versions)`);
        const underTest = `${ctx.provider.type} '${key}'@${after}`;
        const other = `${theirs.provider} '${theirs.keyId}'@${theirs.version}`;

        for (const [who, keystore] of [
          ['the provider alone', s.underTestAlone],
          ['both recipients', s.both],
        ] as const) {
          const moved = await step(`reencrypt by ${who}`, keystore.reencrypt(envelope, { context: CONTEXT }));
          check(moved.startsWith('ks2.'), `reencrypt by ${who}: the envelope must stay version 2`);
          check(moved !== envelope, `reencrypt by ${who} after a rotation returned the envelope unchanged`);
          check(payloadOf(moved) === payloadOf(envelope), `reencrypt by ${who} changed the payload`);
          checkRecipients(
            recipientsOf(s.both, moved),
            [underTest, other],
            `inspect().recipients after reencrypt by ${who}`,
          );
          for (const [reader, readerKeystore] of [
            ['the provider alone', s.underTestAlone],
            [`the ${s.secondType} provider alone`, s.secondAlone],
            ['both recipients', s.both],
          ] as const) {
            await opens(readerKeystore, moved, text, `decrypt by ${reader} after reencrypt by ${who}`);
          }
          await rejects(
            `decrypt of the envelope reencrypted by ${who} with a wrong context`,
            s.both.decrypt(moved, { context: WRONG_CONTEXT }),
            'InvalidToken',
          );
        }
        await opens(s.underTestAlone, envelope, text, 'decrypt of the old envelope by the provider alone');
        await opens(
          s.secondAlone,
          envelope,
          text,
          `decrypt of the old envelope by the ${s.secondType} provider alone`,
        );
      });
    },
  }),

  defineTest({
    name: 'decryptMany opens 20 envelopes of two recipients',
    group: 'recipients',
    requires: ['keystore', 'key'],
    description:
      'decryptMany of 20 version 2 envelopes, each with its own context, gives every plaintext in order through the keystore of both recipients, of the provider alone and of the other provider alone; an item with a wrong context fails with InvalidToken in its own slot.',
    async run(ctx) {
      const key = await ctx.key();
      await withSetup(ctx, key, async (s) => {
        const count = 20;
        const plaintexts = Array.from({ length: count }, () => randomBytes(48));
        const contexts = plaintexts.map((_, i) => ({ ...CONTEXT, item: String(i) }));
        const envelopes = await Promise.all(
          plaintexts.map((p, i) => step(`encrypt ${i}`, s.both.encrypt(p, { context: contexts[i] }))),
        );
        envelopes.forEach((e, i) => {
          check(e.startsWith('ks2.'), `envelope ${i} must start with 'ks2.'`);
        });
        const items = envelopes.map((envelope, i) => ({
          envelope,
          context: contexts[i] as EncryptionContext,
        }));
        const WRONG = 7;
        for (const [who, keystore] of [
          ['both recipients', s.both],
          ['the provider alone', s.underTestAlone],
          [`the ${s.secondType} provider alone`, s.secondAlone],
        ] as const) {
          const results = await step(`decryptMany by ${who}`, keystore.decryptMany(items));
          checkEqual(results.length, count, `decryptMany by ${who}: number of results`);
          results.forEach((r, i) => {
            if (!r.ok) fail(`decryptMany by ${who}: item ${i} failed: ${describeError(r.error)}`, r.error);
            checkBytes(r.value, plaintexts[i] as Uint8Array, `decryptMany by ${who}: item ${i}`);
          });
          const mixed = items.map((item, i) => (i === WRONG ? { ...item, context: WRONG_CONTEXT } : item));
          const withWrong = await step(
            `decryptMany by ${who} with one wrong context`,
            keystore.decryptMany(mixed),
          );
          withWrong.forEach((r, i) => {
            if (i === WRONG) {
              if (r.ok || codeOf(r.error) !== 'InvalidToken') {
                fail(
                  `decryptMany by ${who}: item ${i} (wrong context) must fail with InvalidToken, got ${r.ok ? 'a result' : describeError(r.error)}`,
                );
              }
            } else if (!r.ok) {
              fail(
                `decryptMany by ${who} with one wrong context: item ${i} failed: ${describeError(r.error)}`,
              );
            }
          });
        }
      });
    },
  }),
];
