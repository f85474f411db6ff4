import { rejects, step } from '../assert.js';
import { randomBytes } from '../bytes.js';
import { CONTEXT, defineTest } from './helpers.js';

export const closeTests = [
  defineTest({
    name: 'close is idempotent',
    group: 'close',
    requires: [],
    description: 'Closing the provider twice (directly, and through the guard) does not throw.',
    async run(ctx) {
      await step('close()', ctx.provider.close());
      await step('close() of the provider a second time', () => ctx.fixture.provider.close());
      await step('close() through the guard again', ctx.provider.close());
    },
  }),

  defineTest({
    name: 'operations after close fail with Closed',
    group: 'close',
    requires: ['keystore'],
    description:
      'Keystore.close twice does not throw; afterwards encrypt, decrypt and reencrypt fail with Closed, and so do wrapKey, unwrapKey and generateDataKey of the closed provider.',
    async run(ctx) {
      const keystore = await ctx.keystore();
      const canKey = ctx.capabilities.createKey || (ctx.fixture.existingKeys?.length ?? 0) > 0;
      const key = canKey ? await ctx.key() : ctx.unusedKeyId('closed');
      const envelope = canKey
        ? await step('encrypt', keystore.encrypt('data', { key, context: CONTEXT }))
        : undefined;
      const wrapped = canKey
        ? await step(
            'wrapKey',
            ctx.provider.wrapKey({ keyId: key, plaintext: randomBytes(32), context: CONTEXT }),
          )
        : undefined;
      // The test closes the provider: clean up its keys first.
      await ctx.deleteCreatedKeys();

      await step('Keystore.close()', () => keystore.close());
      await step('Keystore.close() a second time', () => keystore.close());
      await rejects(
        'encrypt after close',
        () => keystore.encrypt('data', { key, context: CONTEXT }),
        'Closed',
      );
      if (envelope !== undefined) {
        await rejects(
          'decrypt after close',
          () => keystore.decrypt(envelope, { context: CONTEXT }),
          'Closed',
        );
        await rejects(
          'reencrypt after close',
          () => keystore.reencrypt(envelope, { context: CONTEXT }),
          'Closed',
        );
      }

      const p = ctx.provider;
      await step('close()', p.close());
      await step('close() a second time', p.close());
      await rejects(
        'wrapKey after close',
        () => p.wrapKey({ keyId: key, plaintext: randomBytes(32), context: CONTEXT }),
        'Closed',
      );
      await rejects(
        'generateDataKey after close',
        () => p.generateDataKey({ keyId: key, length: 32, context: CONTEXT }),
        'Closed',
      );
      if (wrapped !== undefined) {
        await rejects(
          'unwrapKey after close',
          () =>
            p.unwrapKey({
              keyId: key,
              version: wrapped.version,
              ciphertext: wrapped.ciphertext,
              context: CONTEXT,
            }),
          'Closed',
        );
      }
    },
  }),
];
