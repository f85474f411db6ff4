import { guardProvider, type KeyProvider } from '@keystore/core';
import { check, checkBytes, describeError, fail, rejects, step } from '../assert.js';
import { randomBytes } from '../bytes.js';
import { withTimeout } from '../execute.js';
import { defineTest } from './helpers.js';

const BOUND_MS = 20_000;

export const availabilityTests = [
  defineTest({
    name: 'an unreachable backend fails with ProviderUnavailable within 20 s',
    group: 'availability',
    requires: ['unreachable'],
    description:
      'A provider pointed at a backend that cannot be reached fails wrapKey, unwrapKey and generateDataKey with ProviderUnavailable (not a hang, not InvalidToken) within 20 seconds.',
    async run(ctx) {
      const { fixture } = ctx;
      if (fixture.unreachable === undefined) return ctx.skip('not applicable (embedded provider)');
      const started = performance.now();
      let created: KeyProvider;
      try {
        created = await withTimeout(fixture.unreachable(), BOUND_MS, 'fixture.unreachable()');
      } catch (error) {
        // Failing already when it is made is fine, as long as it says why.
        if ((error as { code?: unknown }).code === 'ProviderUnavailable') return;
        return fail(
          `making a provider for an unreachable backend failed with ${describeError(error)} instead of ProviderUnavailable`,
          error,
        );
      }
      const provider = guardProvider(created);
      try {
        const keyId = fixture.existingKeys?.[0] ?? ctx.unusedKeyId('unreachable');
        const context = { purpose: 'conformance' };
        await withTimeout(
          Promise.all([
            rejects(
              'wrapKey against an unreachable backend',
              provider.wrapKey({ keyId, plaintext: randomBytes(32), context }),
              'ProviderUnavailable',
            ),
            rejects(
              'unwrapKey against an unreachable backend',
              provider.unwrapKey({ keyId, version: 1, ciphertext: randomBytes(60), context }),
              'ProviderUnavailable',
            ),
            rejects(
              'generateDataKey against an unreachable backend',
              provider.generateDataKey({ keyId, length: 32, context }),
              'ProviderUnavailable',
            ),
          ]),
          BOUND_MS,
          'operations against an unreachable backend',
        );
        const elapsed = performance.now() - started;
        check(
          elapsed < BOUND_MS,
          `ProviderUnavailable took ${Math.round(elapsed)} ms (bound: ${BOUND_MS} ms)`,
        );
      } finally {
        await provider.close().catch(() => {});
      }
    },
  }),

  defineTest({
    name: 'a cache that cannot be reached is not a down provider',
    group: 'availability',
    requires: ['key', 'unreachableCache'],
    description:
      'The provider with its cache pointed at a cache server that cannot be reached still wraps, unwraps and generates data keys (a wrap made through the working cache unwraps there, and the reverse), within 20 seconds.',
    async run(ctx) {
      const { fixture } = ctx;
      if (fixture.unreachableCache === undefined) return ctx.skip('not applicable: no cache in front');
      const keyId = await ctx.key();
      const started = performance.now();
      const provider = guardProvider(
        await step(
          'fixture.unreachableCache()',
          withTimeout(fixture.unreachableCache(), BOUND_MS, 'fixture.unreachableCache()'),
        ),
      );
      try {
        const context = { purpose: 'conformance' };
        const plaintext = randomBytes(32);
        await withTimeout(
          (async () => {
            const wrapped = await step(
              'wrapKey with the cache down',
              provider.wrapKey({ keyId, plaintext, context }),
            );
            const { ciphertext, version } = wrapped;
            checkBytes(
              await step(
                'unwrapKey with the cache down',
                provider.unwrapKey({ keyId, version, ciphertext, context }),
              ),
              plaintext,
              'unwrapKey with the cache down',
            );
            checkBytes(
              await step(
                'unwrapKey through the working cache of a wrap made with the cache down',
                ctx.provider.unwrapKey({ keyId, version, ciphertext, context }),
              ),
              plaintext,
              'unwrapKey through the working cache',
            );
            const dataKey = await step(
              'generateDataKey with the cache down',
              provider.generateDataKey({ keyId, length: 32, context }),
            );
            const back = await step(
              'unwrapKey with the cache down of a generated key',
              provider.unwrapKey({
                keyId,
                version: dataKey.wrapped.version,
                ciphertext: dataKey.wrapped.ciphertext,
                context,
              }),
            );
            checkBytes(back, dataKey.plaintext, 'unwrapKey of generateDataKey with the cache down');
            const through = await step(
              'wrapKey through the working cache',
              ctx.provider.wrapKey({ keyId, plaintext, context }),
            );
            checkBytes(
              await step(
                'unwrapKey with the cache down of a wrap made through the working cache',
                provider.unwrapKey({
                  keyId,
                  version: through.version,
                  ciphertext: through.ciphertext,
                  context,
                }),
              ),
              plaintext,
              'unwrapKey with the cache down of a wrap made through the working cache',
            );
          })(),
          BOUND_MS,
          'operations with the cache down',
        );
        const elapsed = performance.now() - started;
        check(
          elapsed < BOUND_MS,
          `with the cache down, the operations took ${Math.round(elapsed)} ms (bound: ${BOUND_MS} ms)`,
        );
      } finally {
        await provider.close().catch(() => {});
      }
    },
  }),
];
