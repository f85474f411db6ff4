import { randomBytes } from 'node:crypto';
import type { StoredKey } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createVaultKvStore, createVaultProvider } from '../src/index.js';
import { kvAdmin } from './fixtures/kv-admin.js';
import { kvOptions } from './support/server.js';

/* createVaultKvStore: KV mode's store on its own, as key-copying tools write through it. */
const vault = await requireService('vault');
const run = randomBytes(4).toString('hex');
const pathPrefix = `keystore-test-${run}/`;
const options = kvOptions(vault, pathPrefix);
const admin = kvAdmin({ ...options, token: options.auth.token });

describe.skipIf(vault.skip)('createVaultKvStore against OpenBao', () => {
  afterAll(async () => {
    await admin.removeFolder(pathPrefix);
  });

  it('writes a key, every version kept, that the KV provider then reads and uses', async () => {
    const store = createVaultKvStore(options);
    const key: StoredKey = {
      keyId: `copied-${run}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      description: 'copied',
      versions: [1, 2, 3].map((version) => ({
        version,
        createdAt: `2026-0${version}-01T00:00:00.000Z`,
        state: version === 1 ? ('disabled' as const) : ('enabled' as const),
        material: new Uint8Array(randomBytes(32)),
      })),
    };
    await store.save?.(key, 0);
    expect(await store.load(key.keyId)).toEqual(key);
    await expect(store.save?.(key, 0)).rejects.toMatchObject({ code: 'KeyExists' });
    await store.close();

    const provider = await createVaultProvider(options);
    try {
      expect(await provider.listVersions?.(key.keyId)).toEqual(
        key.versions.map(({ version, createdAt, state }) => ({ version, createdAt, state })),
      );
      const v1 = await provider.getKey?.(key.keyId, 1);
      expect(Buffer.from(v1?.material ?? []).equals(Buffer.from(key.versions[0]?.material ?? []))).toBe(true);
    } finally {
      await provider.close();
    }
  });

  it('refuses a mount or prefix with . or .. segments before connecting', () => {
    expect(() => createVaultKvStore({ ...options, pathPrefix: '../x/' })).toThrow(/prefix|path/i);
  });
});
