import { guardProvider, type KeyProvider } from '@keystore/core';
import { check, describeError, fail, rejects } from '../assert.js';
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
];
