import type { WrappedKey } from '@keystore/core';
import { check, checkBytes, checkEqual, codeOf, describeError, fail, rejects, step } from '../assert.js';
import { bytesEqual, containsBytes, flipBit, randomBytes } from '../bytes.js';
import {
  CONTEXT,
  checkWrappedKey,
  defineTest,
  unwrapInput,
  versionAfterRotation,
  wrapNew,
} from './helpers.js';

export const wrapTests = [
  defineTest({
    name: 'wrapKey/unwrapKey round trip',
    group: 'wrap',
    requires: ['key'],
    description:
      'A wrapped data key unwraps to the same bytes, with a context or with none, for 16, 32 and 64 byte keys; the wrap is randomized and never holds the data key in clear.',
    async run(ctx) {
      const keyId = await ctx.key();
      for (const [context, length] of [
        [CONTEXT, 32],
        [{}, 32],
        [CONTEXT, 16],
        [CONTEXT, 64],
      ] as const) {
        const { dek, wrapped } = await wrapNew(ctx, keyId, context, length);
        const what = `unwrapKey of a ${length}-byte key${Object.keys(context).length === 0 ? ' with no context' : ''}`;
        check(
          !containsBytes(wrapped.ciphertext, dek),
          `${what}: the wrapped key holds the data key in clear`,
        );
        const copy = new Uint8Array(dek);
        const back = await step(what, ctx.provider.unwrapKey(unwrapInput(wrapped, context)));
        checkBytes(back, dek, what);
        checkBytes(dek, copy, 'the data key given to wrapKey must be left as it was');
      }
      const dek = randomBytes(32);
      const a = await step('wrapKey', ctx.provider.wrapKey({ keyId, plaintext: dek, context: CONTEXT }));
      const b = await step('wrapKey', ctx.provider.wrapKey({ keyId, plaintext: dek, context: CONTEXT }));
      check(
        !bytesEqual(a.ciphertext, b.ciphertext),
        'wrapping the same data key twice gave the same ciphertext: wraps must be randomized',
      );
    },
  }),

  defineTest({
    name: 'generateDataKey round trip',
    group: 'wrap',
    requires: ['key'],
    description:
      'generateDataKey returns a fresh key of the asked length and its wrapped form, which unwraps to it (the core makes the key when the provider does not).',
    async run(ctx) {
      const keyId = await ctx.key();
      const seen: Uint8Array[] = [];
      for (const length of [32, 16, 64, 32]) {
        const what = `generateDataKey(${length} bytes)`;
        const dataKey = await step(what, ctx.provider.generateDataKey({ keyId, length, context: CONTEXT }));
        checkEqual(dataKey.plaintext.length, length, `${what}: plaintext length`);
        checkWrappedKey(dataKey.wrapped, keyId, what);
        const back = await step(
          `unwrapKey of ${what}`,
          ctx.provider.unwrapKey(unwrapInput(dataKey.wrapped, CONTEXT)),
        );
        checkBytes(back, dataKey.plaintext, `unwrapKey of ${what}`);
        check(
          !seen.some((s) => bytesEqual(s, dataKey.plaintext)),
          `${what} returned a data key it returned before`,
        );
        seen.push(dataKey.plaintext);
      }
    },
  }),

  defineTest({
    name: 'generateDataKey per message: a fresh data key, or reuse within the declared limit',
    group: 'wrap',
    requires: ['key'],
    description:
      'generateDataKey as the Keystore calls it (with plaintextBytes) gives every message a fresh data key; behind a cache that declares data-key reuse (fixture.dataKeyReuse), one key serves at most maxMessages messages of one key and context. Either way every wrap unwraps to its key, another context never gets a key of the first, and after a rotation no key from before it is handed out.',
    async run(ctx) {
      const keyId = await ctx.key();
      const maxMessages = ctx.fixture.dataKeyReuse?.maxMessages ?? 1;
      const messages = Math.min(maxMessages, 100) + 1;
      const input = { keyId, length: 32, context: CONTEXT, plaintextBytes: 100 };
      const uses = new Map<string, { plaintext: Uint8Array; wrapped: WrappedKey; count: number }>();
      for (let i = 0; i < messages; i++) {
        const dataKey = await step(
          `generateDataKey for message ${i + 1}`,
          ctx.provider.generateDataKey(input),
        );
        checkEqual(dataKey.plaintext.length, 32, `message ${i + 1}: plaintext length`);
        checkWrappedKey(dataKey.wrapped, keyId, `generateDataKey for message ${i + 1}`);
        const id = Buffer.from(dataKey.plaintext).toString('hex');
        const use = uses.get(id) ?? {
          plaintext: new Uint8Array(dataKey.plaintext),
          wrapped: dataKey.wrapped,
          count: 0,
        };
        use.count++;
        uses.set(id, use);
        check(
          use.count <= maxMessages,
          maxMessages === 1
            ? `generateDataKey gave message ${i + 1} the data key of an earlier message (no data-key reuse is declared: fixture.dataKeyReuse)`
            : `one data key served ${use.count} messages (declared limit: ${maxMessages})`,
        );
      }
      for (const [i, use] of [...uses.values()].entries()) {
        const back = await step(
          `unwrapKey of data key ${i + 1}`,
          ctx.provider.unwrapKey(unwrapInput(use.wrapped, CONTEXT)),
        );
        checkBytes(back, use.plaintext, `unwrapKey of data key ${i + 1}`);
      }
      const seen = () => [...uses.values()].map((u) => u.plaintext);
      const other = await step(
        'generateDataKey under another context',
        ctx.provider.generateDataKey({ ...input, context: { ...CONTEXT, purpose: 'another' } }),
      );
      check(
        !seen().some((s) => bytesEqual(s, other.plaintext)),
        'generateDataKey under another context gave a data key of the first context',
      );
      if (!ctx.capabilities.createKey || !ctx.capabilities.rotateKey) return;
      const owned = await ctx.createKey('reuse');
      const before = await step(
        'generateDataKey before rotation',
        ctx.provider.generateDataKey({ ...input, keyId: owned }),
      );
      await step('rotateKey', ctx.provider.rotateKey(owned));
      const after = await step(
        'generateDataKey after rotation',
        ctx.provider.generateDataKey({ ...input, keyId: owned }),
      );
      check(
        !bytesEqual(before.plaintext, after.plaintext),
        'generateDataKey after rotateKey gave the data key it gave before the rotation',
      );
      checkEqual(
        after.wrapped.version,
        versionAfterRotation(ctx, before.wrapped.version),
        'generateDataKey after rotateKey: wrapped.version',
      );
    },
  }),

  defineTest({
    name: 'a wrong encryption context is rejected with InvalidToken',
    group: 'wrap',
    requires: ['key'],
    description:
      'unwrapKey fails with InvalidToken unless given exactly the context of the wrap: not another value, not a subset, not a superset, not none.',
    async run(ctx) {
      const keyId = await ctx.key();
      const { dek, wrapped } = await wrapNew(ctx, keyId, CONTEXT);
      const wrong = {
        'another value': { ...CONTEXT, tenant: 'someone-else' },
        'a subset': { tenant: 'conformance', purpose: 'test' },
        'a superset': { ...CONTEXT, extra: 'entry' },
        'no context': {},
        'a key differing in case': { Tenant: 'conformance', purpose: 'test', région: 'zürich ✓' },
      };
      for (const [label, context] of Object.entries(wrong)) {
        await rejects(
          `unwrapKey with ${label}`,
          ctx.provider.unwrapKey(unwrapInput(wrapped, context)),
          'InvalidToken',
        );
      }
      const bare = await wrapNew(ctx, keyId, {});
      await rejects(
        'unwrapKey with a context of a key wrapped with none',
        ctx.provider.unwrapKey(unwrapInput(bare.wrapped, CONTEXT)),
        'InvalidToken',
      );
      const back = await step(
        'unwrapKey with the right context after failures',
        ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT)),
      );
      checkBytes(back, dek, 'unwrapKey with the right context');
    },
  }),

  defineTest({
    name: 'a tampered or truncated wrapped key is rejected with InvalidToken',
    group: 'wrap',
    requires: ['key'],
    description:
      'Bit flips at the start, middle and end, truncation and extension of a wrapped key all fail with the same InvalidToken (no padding or MAC oracle); rewrapKey rejects them too.',
    async run(ctx) {
      const keyId = await ctx.key();
      const { wrapped } = await wrapNew(ctx, keyId);
      const ct = wrapped.ciphertext;
      const n = ct.length;
      const variants = new Map<string, Uint8Array>();
      for (const index of [...new Set([0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 17, n - 2, n - 1])]) {
        if (index >= 0 && index < n) {
          variants.set(`bit 0 flipped at byte ${index}`, flipBit(ct, index));
          variants.set(`bit 7 flipped at byte ${index}`, flipBit(ct, index, 0x80));
        }
      }
      variants.set('the last byte cut off', ct.subarray(0, n - 1));
      variants.set('the last 16 bytes cut off', ct.subarray(0, Math.max(1, n - 16)));
      variants.set('only the first half', ct.subarray(0, Math.max(1, Math.floor(n / 2))));
      variants.set('only the first byte', ct.subarray(0, 1));
      variants.set('a byte appended', Uint8Array.of(...ct, 0));
      variants.set('all zeros', new Uint8Array(n));
      variants.set('random bytes', randomBytes(n));

      const accepted: string[] = [];
      for (const [label, ciphertext] of variants) {
        try {
          await ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT, { ciphertext }));
          accepted.push(`${label}: unwrapped`);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (code !== 'InvalidToken') accepted.push(`${label}: ${String(code ?? error)}`);
        }
      }
      if (accepted.length > 0) {
        fail(
          `tampered wrapped keys must fail with InvalidToken; ${accepted.length} of ${variants.size} did not: ${accepted.join('; ')}`,
        );
      }
      await rejects(
        'rewrapKey of a tampered wrapped key',
        ctx.provider.rewrapKey(unwrapInput(wrapped, CONTEXT, { ciphertext: flipBit(ct, Math.floor(n / 2)) })),
        'InvalidToken',
      );
    },
  }),

  defineTest({
    name: 'a key wrapped under another key is rejected with InvalidToken',
    group: 'wrap',
    requires: ['key'],
    description:
      'A wrapped key presented as the wrap of another existing key does not unwrap: InvalidToken (KeyNotFound when that key has no such version).',
    async run(ctx) {
      const first = await ctx.key(0);
      const second = await ctx.key(1);
      const { wrapped } = await wrapNew(ctx, first);
      // Fresh keys are both at version 1; pre-made keys may not have the version of the wrap.
      const codes = ctx.capabilities.createKey ? ['InvalidToken'] : ['InvalidToken', 'KeyNotFound'];
      await rejects(
        `unwrapKey of a key wrapped under '${first}' as if wrapped under '${second}'`,
        ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT, { keyId: second })),
        codes,
      );
    },
  }),

  defineTest({
    name: 'unwrapKeys and rewrapKeys: one result per item, in order, failures in their slots',
    group: 'wrap',
    requires: ['key'],
    description:
      'The batch forms (the provider’s own with capability batch, else the core’s) give one result per input in order; a tampered item, a wrong context and an unknown key fail in their own slots (InvalidToken, InvalidToken, KeyNotFound) while the others succeed; after a rotation rewrapKeys moves every good item to the newest version.',
    async run(ctx) {
      const canRotate = ctx.capabilities.createKey && ctx.capabilities.rotateKey;
      const keyId = canRotate ? await ctx.createKey('batch') : await ctx.key();
      const count = 40;
      const contexts = Array.from({ length: count }, (_, i) => ({ ...CONTEXT, item: String(i) }));
      const items: { dek: Uint8Array; wrapped: WrappedKey }[] = [];
      for (const context of contexts) items.push(await wrapNew(ctx, keyId, context));
      const inputs = items.map(({ wrapped }, i) => unwrapInput(wrapped, contexts[i] ?? CONTEXT));
      const bad = new Map<number, string>([
        [7, 'InvalidToken'],
        [19, 'InvalidToken'],
        [31, 'KeyNotFound'],
      ]);
      const at = (i: number) => inputs[i] as (typeof inputs)[number];
      inputs[7] = {
        ...at(7),
        ciphertext: flipBit(at(7).ciphertext, Math.floor(at(7).ciphertext.length / 2)),
      };
      inputs[19] = { ...at(19), context: CONTEXT };
      inputs[31] = { ...at(31), keyId: ctx.unusedKeyId('missing') };

      const checkSlots = (
        what: string,
        results: readonly unknown[],
        good: (i: number, r: unknown) => void,
      ) => {
        checkEqual(results.length, count, `${what}: number of results`);
        results.forEach((r, i) => {
          const code = bad.get(i);
          if (code === undefined) {
            if (r instanceof Error) fail(`${what}: item ${i} failed: ${describeError(r)}`, r);
            good(i, r);
          } else if (!(r instanceof Error) || codeOf(r) !== code) {
            fail(
              `${what}: item ${i} must fail with ${code} in its slot, got ${r instanceof Error ? describeError(r) : 'a result'}`,
            );
          }
        });
      };

      const unwrapped = await step('unwrapKeys', ctx.provider.unwrapKeys(inputs));
      checkSlots('unwrapKeys', unwrapped, (i, r) =>
        checkBytes(r, items[i]?.dek as Uint8Array, `unwrapKeys: item ${i}`),
      );

      const latest = canRotate
        ? (await step('rotateKey', ctx.provider.rotateKey(keyId))).latestVersion
        : undefined;
      const rewrapped = await step('rewrapKeys', ctx.provider.rewrapKeys(inputs));
      const moved: { i: number; wrapped: WrappedKey }[] = [];
      checkSlots('rewrapKeys', rewrapped, (i, r) => {
        const wrapped = r as WrappedKey;
        checkWrappedKey(wrapped, keyId, `rewrapKeys: item ${i}`);
        if (latest !== undefined)
          checkEqual(wrapped.version, latest, `rewrapKeys after rotateKey: version of item ${i}`);
        moved.push({ i, wrapped });
      });
      for (const { i, wrapped } of moved) {
        const what = `unwrapKey of rewrapKeys item ${i}`;
        const back = await step(what, ctx.provider.unwrapKey(unwrapInput(wrapped, contexts[i] ?? CONTEXT)));
        checkBytes(back, items[i]?.dek as Uint8Array, what);
      }
    },
  }),
];
