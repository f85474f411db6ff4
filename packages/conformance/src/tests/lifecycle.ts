import type { KeyMetadata } from '@keystore/core';
import { check, checkBytes, checkEqual, fail, rejects, step } from '../assert.js';
import { randomBytes } from '../bytes.js';
import { CONTEXT, defineTest, unwrapInput, versionAfterRotation, wrapNew } from './helpers.js';

function findKey(keys: readonly KeyMetadata[], keyId: string): KeyMetadata | undefined {
  return keys.find((k) => k.keyId === keyId);
}

export const lifecycleTests = [
  defineTest({
    name: 'createKey of an existing key fails with KeyExists',
    group: 'lifecycle',
    requires: ['createKey'],
    description:
      'createKey returns the new key at version 1; creating it again fails with KeyExists and leaves the key as it was.',
    async run(ctx) {
      const keyId = ctx.unusedKeyId('exists');
      const meta = await step('createKey', ctx.provider.createKey(keyId));
      ctx.track(keyId);
      checkEqual(meta.keyId, keyId, 'createKey().keyId');
      checkEqual(meta.latestVersion, 1, 'createKey().latestVersion');
      const { dek, wrapped } = await wrapNew(ctx, keyId);
      checkEqual(wrapped.version, 1, 'the version of a new key');
      await rejects('createKey of an existing key', ctx.provider.createKey(keyId), 'KeyExists');
      checkBytes(
        await step(
          'unwrapKey after the failed createKey',
          ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT)),
        ),
        dek,
        'unwrapKey after the failed createKey',
      );
    },
  }),

  defineTest({
    name: 'listKeys contains the keys',
    group: 'lifecycle',
    requires: ['listKeys', 'key'],
    description:
      'listKeys names every key once with its latest version: keys just created (version 1, then 2 after a rotation; still 1 for a provider that rotates in place), or the pre-made keys.',
    async run(ctx) {
      const p = ctx.provider;
      if (ctx.capabilities.createKey) {
        const a = await ctx.createKey('list-a');
        const b = await ctx.createKey('list-b');
        let keys = await step('listKeys', p.listKeys());
        for (const keyId of [a, b]) {
          const found = findKey(keys, keyId);
          check(found !== undefined, `listKeys does not contain '${keyId}', just created`);
          checkEqual(found.latestVersion, 1, `listKeys: latestVersion of '${keyId}'`);
        }
        if (ctx.capabilities.rotateKey) {
          await step('rotateKey', p.rotateKey(a));
          keys = await step('listKeys after rotateKey', p.listKeys());
          checkEqual(
            findKey(keys, a)?.latestVersion,
            versionAfterRotation(ctx, 1),
            `listKeys: latestVersion of '${a}' after rotateKey (${ctx.versioning} versions)`,
          );
        }
        const ids = keys.map((k) => k.keyId);
        check(new Set(ids).size === ids.length, 'listKeys names a key more than once');
      } else {
        const keys = await step('listKeys', p.listKeys());
        for (const keyId of ctx.fixture.existingKeys ?? []) {
          const found = findKey(keys, keyId);
          check(found !== undefined, `listKeys does not contain '${keyId}' (fixture.existingKeys)`);
          check(found.latestVersion >= 1, `listKeys: latestVersion of '${keyId}' must be >= 1`);
        }
      }
    },
  }),

  defineTest({
    name: 'listVersions lists every version after rotations',
    group: 'lifecycle',
    requires: ['createKey', 'rotateKey', 'listVersions'],
    description:
      'After two rotations listVersions gives versions 1, 2 and 3 in order (in place: the constant version alone), each enabled with an ISO 8601 creation time.',
    async run(ctx) {
      const keyId = await ctx.createKey('versions');
      const initial = await step('listVersions of a new key', ctx.provider.listVersions(keyId));
      checkEqual(initial.map((v) => v.version).join(','), '1', 'listVersions of a new key');
      await step('rotateKey', ctx.provider.rotateKey(keyId));
      await step('rotateKey', ctx.provider.rotateKey(keyId));
      const versions = await step('listVersions', ctx.provider.listVersions(keyId));
      const expected = [
        1,
        versionAfterRotation(ctx, 1),
        versionAfterRotation(ctx, versionAfterRotation(ctx, 1)),
      ];
      checkEqual(
        versions.map((v) => v.version).join(','),
        [...new Set(expected)].join(','),
        `listVersions after two rotations (${ctx.versioning} versions)`,
      );
      for (const v of versions) {
        checkEqual(v.state, 'enabled', `listVersions: state of version ${v.version}`);
        check(
          typeof v.createdAt === 'string' && !Number.isNaN(Date.parse(v.createdAt)),
          `listVersions: createdAt of version ${v.version} must be an ISO 8601 time, got ${JSON.stringify(v.createdAt)}`,
        );
      }
    },
  }),

  defineTest({
    name: 'importKey makes a key of the given material and adds versions',
    group: 'lifecycle',
    requires: ['importKey'],
    description:
      'importKey of a new id makes version 1 of exactly that material (a copy: wiping the caller’s buffer changes nothing); importing again adds version 2; both wrap and unwrap.',
    async run(ctx) {
      const material = randomBytes(32);
      const original = new Uint8Array(material);
      const keyId = await ctx.importKey('import', material);
      material.fill(0);
      const v1 = await wrapNew(ctx, keyId);
      checkEqual(v1.wrapped.version, 1, 'the version of an imported key');
      if (ctx.capabilities.getKey) {
        const got = await step('getKey of the imported key', ctx.provider.getKey(keyId));
        checkBytes(got.material, original, 'getKey of an imported key (after wiping the buffer given)');
      }
      const second = randomBytes(32);
      const meta = await step('importKey into an existing key', ctx.provider.importKey(keyId, second));
      checkEqual(meta.latestVersion, 2, 'importKey into an existing key: latestVersion');
      const v2 = await wrapNew(ctx, keyId);
      checkEqual(v2.wrapped.version, 2, 'wrapKey after the second import: version');
      if (ctx.capabilities.getKey) {
        const got = await step('getKey(version 2)', ctx.provider.getKey(keyId, 2));
        checkBytes(got.material, second, 'getKey(version 2) of the second import');
      }
      for (const { dek, wrapped } of [v1, v2]) {
        const what = `unwrapKey of version ${wrapped.version} of an imported key`;
        checkBytes(await step(what, ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT))), dek, what);
      }
    },
  }),

  defineTest({
    name: 'deleteKey requires { confirm: keyId }',
    group: 'lifecycle',
    requires: ['createKey', 'deleteKey'],
    description:
      'deleteKey without options, with an empty confirm or with another key id fails with InvalidArgument, and the key stays usable.',
    async run(ctx) {
      const keyId = await ctx.createKey('delete-confirm');
      const { dek, wrapped } = await wrapNew(ctx, keyId);
      const deleteKey = ctx.provider.deleteKey as (keyId: string, options?: unknown) => Promise<void>;
      const attempts: [string, unknown][] = [
        ['no options', undefined],
        ['{}', {}],
        ["{ confirm: '' }", { confirm: '' }],
        ['another key id', { confirm: `${keyId}-other` }],
        ['confirm: true', { confirm: true }],
      ];
      for (const [label, options] of attempts) {
        await rejects(`deleteKey with ${label}`, () => deleteKey(keyId, options), 'InvalidArgument');
      }
      checkBytes(
        await step('unwrapKey after refused deletes', ctx.provider.unwrapKey(unwrapInput(wrapped, CONTEXT))),
        dek,
        'unwrapKey after refused deletes',
      );
    },
  }),

  defineTest({
    name: 'a deleted key is gone: KeyNotFound',
    group: 'lifecycle',
    requires: ['createKey', 'deleteKey'],
    description:
      'After deleteKey(keyId, { confirm: keyId }) wrapKey, unwrapKey, getKey and a second delete fail with KeyNotFound, and listKeys no longer names the key.',
    async run(ctx) {
      const keyId = await ctx.createKey('deleted');
      const { wrapped } = await wrapNew(ctx, keyId);
      const p = ctx.provider;
      await step('deleteKey', p.deleteKey(keyId, { confirm: keyId }));
      await rejects(
        'wrapKey after deleteKey',
        p.wrapKey({ keyId, plaintext: randomBytes(32), context: CONTEXT }),
        'KeyNotFound',
      );
      await rejects('unwrapKey after deleteKey', p.unwrapKey(unwrapInput(wrapped, CONTEXT)), 'KeyNotFound');
      if (ctx.capabilities.getKey) await rejects('getKey after deleteKey', p.getKey(keyId), 'KeyNotFound');
      if (ctx.capabilities.listKeys) {
        const keys = await step('listKeys after deleteKey', p.listKeys());
        if (findKey(keys, keyId) !== undefined) fail(`listKeys still names '${keyId}' after deleteKey`);
      }
      await rejects('a second deleteKey', p.deleteKey(keyId, { confirm: keyId }), 'KeyNotFound');
    },
  }),
];
