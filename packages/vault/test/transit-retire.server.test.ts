import { randomBytes } from 'node:crypto';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, expect, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';
import { transitKeystore, transitOptions } from './support/server.js';

const vault = await requireService('vault');
const options = transitOptions(vault);
const prefix = `retire-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const RETIRED = /retired.*lowering min_decryption_version restores it/;

function keystoreFor(keyId: string) {
  return transitKeystore(options, keyId);
}

describe.skipIf(vault.skip)('vault transit min_decryption_version against OpenBao', () => {
  it('an envelope under a retired version fails with the typed error, and decrypts again once restored', async () => {
    const keyId = newKeyId();
    const keystore = await keystoreFor(keyId);
    const admin = await createVaultProvider(options);
    await keystore.createKey(keyId);
    const old = await keystore.encrypt('allergy: penicillin', { context: { id: '7' } });
    await keystore.rotate(keyId);
    const current = await keystore.encrypt('allergy: none', { context: { id: '8' } });

    const retired = await admin.retireVersionsBelow(keyId, 2);
    expect(retired.map((v) => [v.version, v.state])).toEqual([
      [1, 'disabled'],
      [2, 'enabled'],
    ]);
    expect((await admin.listVersions?.(keyId))?.map((v) => v.state)).toEqual(['disabled', 'enabled']);

    await expect(keystore.decrypt(old, { context: { id: '7' } })).rejects.toMatchObject({
      code: 'KeyNotFound',
      message: expect.stringMatching(RETIRED),
    });
    // rewrap refuses it too, single and batched; the current envelope is unaffected.
    await expect(keystore.reencrypt(old, { context: { id: '7' } })).rejects.toMatchObject({
      code: 'KeyNotFound',
      message: expect.stringMatching(RETIRED),
    });
    const many = await keystore.reencryptMany([
      { envelope: old, context: { id: '7' } },
      { envelope: current, context: { id: '8' } },
    ]);
    expect(many[0]).toMatchObject({
      ok: false,
      error: { code: 'KeyNotFound', message: expect.stringMatching(RETIRED) },
    });
    expect(many[1]).toMatchObject({ ok: true });
    const decrypted = await keystore.decryptMany([{ envelope: old, context: { id: '7' } }]);
    expect(decrypted[0]).toMatchObject({
      ok: false,
      error: { code: 'KeyNotFound', message: expect.stringMatching(RETIRED) },
    });

    const restored = await admin.retireVersionsBelow(keyId, 1);
    expect(restored.map((v) => v.state)).toEqual(['enabled', 'enabled']);
    expect(new TextDecoder().decode(await keystore.decrypt(old, { context: { id: '7' } }))).toBe(
      'allergy: penicillin',
    );
    await keystore.close();
    await admin.close();
  });

  it('refuses a version above the latest, not a positive integer, or of an unknown key', async () => {
    const admin = await createVaultProvider(options);
    const keyId = newKeyId();
    await admin.createKey?.(keyId);
    await expect(admin.retireVersionsBelow(keyId, 2)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(admin.retireVersionsBelow(keyId, 0)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(admin.retireVersionsBelow(keyId, 1.5)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(admin.retireVersionsBelow(newKeyId(), 1)).rejects.toMatchObject({ code: 'KeyNotFound' });
    expect((await admin.listVersions?.(keyId))?.map((v) => v.state)).toEqual(['enabled']);
  });
});
