import { IN_PLACE_VERSION } from '@keystore/core';
import { check, checkBytes, checkEqual, rejects, step } from '../assert.js';
import { bytesEqual } from '../bytes.js';
import {
  CONTEXT,
  checkWrappedKey,
  defineTest,
  unwrapInput,
  versionAfterRotation,
  wrapNew,
} from './helpers.js';

/*
 * What a rotation promises depends on the provider's versioning: numbered
 * providers add a version per rotation, in-place ones (AWS KMS) put new
 * material behind the same key id and version, and their backend finds an old
 * ciphertext's material by itself. Each test checks the promise the provider
 * declares, so a provider of either kind runs the whole group.
 */

export const rotationTests = [
  defineTest({
    name: 'rotation keeps old versions and wraps under the newest',
    group: 'rotation',
    requires: ['createKey', 'rotateKey'],
    description:
      'rotateKey adds exactly one version; wrapKey and generateDataKey then use it, and keys wrapped under every older version still unwrap. In place: rotateKey answers the constant version, wraps before and after it carry that version, and every one of them still unwraps.',
    async run(ctx) {
      const keyId = await ctx.createKey('rotation');
      const older = [await wrapNew(ctx, keyId)];
      let latest = older[0]?.wrapped.version ?? 1;
      for (let round = 1; round <= 2; round++) {
        const meta = await step(`rotateKey (round ${round})`, ctx.provider.rotateKey(keyId));
        checkEqual(meta.keyId, keyId, 'rotateKey().keyId');
        checkEqual(
          meta.latestVersion,
          versionAfterRotation(ctx, latest),
          `rotateKey() latestVersion (round ${round}, ${ctx.versioning} versions)`,
        );
        latest = meta.latestVersion;
        const fresh = await wrapNew(ctx, keyId);
        checkEqual(fresh.wrapped.version, latest, 'wrapKey after rotateKey: wrapped.version');
        const dataKey = await step(
          'generateDataKey after rotateKey',
          ctx.provider.generateDataKey({ keyId, length: 32, context: CONTEXT }),
        );
        checkEqual(dataKey.wrapped.version, latest, 'generateDataKey after rotateKey: wrapped.version');
        older.push(fresh);
        for (const { dek, wrapped } of older) {
          const what = `unwrapKey of version ${wrapped.version} after ${round} rotation(s)`;
          checkBytes(await step(what, ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT))), dek, what);
        }
      }
    },
  }),

  defineTest({
    name: 'a wrapped key relabelled with another version is rejected',
    group: 'rotation',
    requires: ['createKey', 'rotateKey'],
    description:
      'The version is bound to the wrap: a key wrapped under version 1 presented as version 2 (and the other way) fails with InvalidToken. In place: wraps from before and after the rotation both carry the constant version, and one claiming the next version fails with KeyNotFound or InvalidToken.',
    async run(ctx) {
      const keyId = await ctx.createKey('relabel');
      const old = await wrapNew(ctx, keyId);
      await step('rotateKey', ctx.provider.rotateKey(keyId));
      const fresh = await wrapNew(ctx, keyId);
      if (ctx.versioning === 'in-place') {
        checkEqual(old.wrapped.version, IN_PLACE_VERSION, 'in place: wrap version before rotateKey');
        checkEqual(fresh.wrapped.version, IN_PLACE_VERSION, 'in place: wrap version after rotateKey');
        for (const { wrapped } of [old, fresh]) {
          await rejects(
            `in place: unwrapKey of a wrap claiming version ${IN_PLACE_VERSION + 1}`,
            ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT, { version: IN_PLACE_VERSION + 1 })),
            ['KeyNotFound', 'InvalidToken'],
          );
        }
        return;
      }
      check(fresh.wrapped.version !== old.wrapped.version, 'rotateKey did not change the wrap version');
      await rejects(
        `unwrapKey of a version ${old.wrapped.version} wrap claiming version ${fresh.wrapped.version}`,
        ctx.provider.unwrapKey(unwrapInput(old.wrapped, CONTEXT, { version: fresh.wrapped.version })),
        'InvalidToken',
      );
      await rejects(
        `unwrapKey of a version ${fresh.wrapped.version} wrap claiming version ${old.wrapped.version}`,
        ctx.provider.unwrapKey(unwrapInput(fresh.wrapped, CONTEXT, { version: old.wrapped.version })),
        'InvalidToken',
      );
    },
  }),

  defineTest({
    name: 'rewrapKey moves a wrapped key to the newest version',
    group: 'rotation',
    requires: ['createKey', 'rotateKey'],
    description:
      'After rotation, rewrapKey returns a wrap under the newest version (in place: the constant version, a new ciphertext) that unwraps to the same data key; the old wrap still unwraps; a wrong context fails with InvalidToken.',
    async run(ctx) {
      const keyId = await ctx.createKey('rewrap');
      const { dek, wrapped } = await wrapNew(ctx, keyId);
      const meta = await step('rotateKey', ctx.provider.rotateKey(keyId));
      const moved = await step('rewrapKey', ctx.provider.rewrapKey(unwrapInput(wrapped, CONTEXT)));
      checkWrappedKey(moved, keyId, 'rewrapKey');
      checkEqual(moved.version, meta.latestVersion, 'rewrapKey: version');
      check(!bytesEqual(moved.ciphertext, wrapped.ciphertext), 'rewrapKey returned the old ciphertext');
      checkBytes(
        await step('unwrapKey of the rewrapped key', ctx.provider.unwrapKey(unwrapInput(moved, CONTEXT))),
        dek,
        'unwrapKey of the rewrapped key',
      );
      checkBytes(
        await step('unwrapKey of the old wrap', ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT))),
        dek,
        'unwrapKey of the old wrap after rewrapKey',
      );
      await rejects(
        'rewrapKey with a wrong context',
        ctx.provider.rewrapKey(unwrapInput(wrapped, { ...CONTEXT, tenant: 'someone-else' })),
        'InvalidToken',
      );
      const again = await step('rewrapKey of a wrap at the newest version', () =>
        ctx.provider.rewrapKey(unwrapInput(moved, CONTEXT)),
      );
      checkEqual(again.version, meta.latestVersion, 'rewrapKey of the newest: version');
      checkBytes(
        await step('unwrapKey', ctx.provider.unwrapKey(unwrapInput(again, CONTEXT))),
        dek,
        'unwrapKey after rewrapping twice',
      );
    },
  }),

  defineTest({
    name: 'getKey returns 32 bytes, stable per version',
    group: 'rotation',
    requires: ['getKey', 'key'],
    description:
      'getKey gives 32 bytes of material, the same for a version every time (and a copy the caller may wipe); a rotation adds new material and leaves old versions as they were (in place: new material at the same version).',
    async run(ctx) {
      const canRotate = ctx.capabilities.createKey && ctx.capabilities.rotateKey;
      const keyId = canRotate ? await ctx.createKey('get') : await ctx.key();
      const p = ctx.provider;
      const first = await step('getKey', p.getKey(keyId));
      checkEqual(first.keyId, keyId, 'getKey().keyId');
      checkEqual(first.material.length, 32, 'getKey() material length');
      check(Number.isSafeInteger(first.version) && first.version >= 1, 'getKey().version must be >= 1');
      const copy = new Uint8Array(first.material);
      first.material.fill(0);
      const again = await step('getKey again', p.getKey(keyId));
      checkEqual(again.version, first.version, 'getKey() version, asked twice');
      checkBytes(again.material, copy, 'getKey() asked twice (after wiping the first answer)');
      const byVersion = await step(`getKey(version ${first.version})`, p.getKey(keyId, first.version));
      checkBytes(byVersion.material, copy, `getKey(version ${first.version})`);

      if (canRotate) {
        const meta = await step('rotateKey', p.rotateKey(keyId));
        const newest = await step('getKey after rotateKey', p.getKey(keyId));
        checkEqual(newest.version, meta.latestVersion, 'getKey() version after rotateKey');
        check(!bytesEqual(newest.material, copy), 'rotateKey did not change the key material');
        if (ctx.versioning === 'in-place') return; // the old material is the backend's, not a version's
        const old = await step(`getKey(version ${first.version})`, p.getKey(keyId, first.version));
        checkBytes(old.material, copy, `getKey(version ${first.version}) after rotateKey`);
      } else if (first.version > 1) {
        const old = await step('getKey(version 1)', p.getKey(keyId, 1));
        checkEqual(old.version, 1, 'getKey(version 1).version');
        check(!bytesEqual(old.material, copy), 'versions 1 and latest have the same material');
      }
    },
  }),
];
