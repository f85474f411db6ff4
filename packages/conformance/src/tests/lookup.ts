import { rejects } from '../assert.js';
import { randomBytes } from '../bytes.js';
import { CONTEXT, defineTest, unwrapInput, wrapNew } from './helpers.js';

export const lookupTests = [
  defineTest({
    name: 'an unknown key fails with KeyNotFound',
    group: 'lookup',
    requires: [],
    description:
      'wrapKey and generateDataKey under a key that does not exist fail with KeyNotFound, and so do getKey, listVersions, rotateKey and deleteKey where the provider offers them.',
    async run(ctx) {
      const keyId = ctx.unusedKeyId('missing');
      const p = ctx.provider;
      await rejects(
        'wrapKey under an unknown key',
        p.wrapKey({ keyId, plaintext: randomBytes(32), context: CONTEXT }),
        'KeyNotFound',
      );
      await rejects(
        'generateDataKey under an unknown key',
        p.generateDataKey({ keyId, length: 32, context: CONTEXT }),
        'KeyNotFound',
      );
      if (ctx.capabilities.getKey) await rejects('getKey of an unknown key', p.getKey(keyId), 'KeyNotFound');
      if (ctx.capabilities.listVersions) {
        await rejects('listVersions of an unknown key', p.listVersions(keyId), 'KeyNotFound');
      }
      if (ctx.capabilities.rotateKey) {
        await rejects('rotateKey of an unknown key', p.rotateKey(keyId), 'KeyNotFound');
      }
      if (ctx.capabilities.deleteKey) {
        await rejects('deleteKey of an unknown key', p.deleteKey(keyId, { confirm: keyId }), 'KeyNotFound');
      }
    },
  }),

  defineTest({
    name: 'unwrapping under an unknown key fails with KeyNotFound',
    group: 'lookup',
    requires: ['key'],
    description:
      'A real wrapped key presented under a key id that does not exist fails with KeyNotFound, and so does rewrapKey.',
    async run(ctx) {
      const { wrapped } = await wrapNew(ctx, await ctx.key());
      const keyId = ctx.unusedKeyId('missing');
      await rejects(
        'unwrapKey under an unknown key',
        ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT, { keyId })),
        'KeyNotFound',
      );
      await rejects(
        'rewrapKey under an unknown key',
        ctx.provider.rewrapKey(unwrapInput(wrapped, CONTEXT, { keyId })),
        'KeyNotFound',
      );
    },
  }),

  defineTest({
    name: 'an unknown key version fails with KeyNotFound or InvalidToken',
    group: 'lookup',
    requires: ['key'],
    description:
      'A wrapped key that claims a version the key does not have does not unwrap (KeyNotFound, or InvalidToken for backends that cannot tell); getKey of that version fails with KeyNotFound.',
    async run(ctx) {
      const { wrapped } = await wrapNew(ctx, await ctx.key());
      for (const version of [wrapped.version + 1000, 2 ** 31 - 1]) {
        await rejects(
          `unwrapKey claiming version ${version}`,
          ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT, { version })),
          ['KeyNotFound', 'InvalidToken'],
        );
        if (ctx.capabilities.getKey) {
          await rejects(
            `getKey of version ${version}`,
            ctx.provider.getKey(wrapped.keyId, version),
            'KeyNotFound',
          );
        }
      }
    },
  }),
];
