import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FAST_PBKDF2, FAST_SCRYPT } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import type { KeyProvider } from '../../../provider/key-provider.js';
import type { StoredVersion } from '../../../provider/material-store.js';
import { createFileProvider } from '../provider.js';
import { changeFileKeystoreSecret } from './change-secret.js';
import { createFileStore } from './store.js';

const OLD = 'old password, given to staff who have left';
const NEW = 'new password';
const context = { table: 'patients' };
const temp = useTempDir();
let dir: string;
let path: string;
beforeEach(() => {
  ({ dir, path } = temp);
});

/** Every key's versions with their state and material, for before/after comparisons. */
async function contents(provider: KeyProvider): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const key of (await provider.listKeys?.()) ?? []) {
    for (const v of (await provider.listVersions?.(key.keyId)) ?? []) {
      const material = (await provider.getKey?.(key.keyId, v.version))?.material as Uint8Array;
      out.push([key.keyId, key.description, v.version, v.state, Buffer.from(material).toString('hex')]);
    }
  }
  return out;
}

/** A keystore with two keys, three versions of one (one disabled), and a data key wrapped under it. */
async function populated(open: Parameters<typeof createFileProvider>[0]) {
  const provider = await createFileProvider({ create: true, ...open });
  await provider.createKey?.('app-data', { description: 'patient records' });
  await provider.createKey?.('billing');
  await provider.rotateKey?.('app-data');
  await provider.rotateKey?.('app-data');
  const dataKey = new Uint8Array(randomBytes(32));
  const wrapped = await provider.wrapKey({ keyId: 'app-data', plaintext: dataKey, context });
  await provider.close();
  // A disabled version too (through the store: the provider contract has no call for it).
  const store = await createFileStore(open);
  const key = await store.load('app-data');
  if (key === undefined) throw new Error('app-data missing');
  const [v1, ...rest] = key.versions;
  await store.save?.({ ...key, versions: [{ ...(v1 as StoredVersion), state: 'disabled' }, ...rest] }, 3);
  await store.close();
  const reader = await createFileProvider(open);
  const before = await contents(reader);
  await reader.close();
  expect(before.map((entry) => (entry as unknown[]).slice(0, 4))).toEqual([
    ['app-data', 'patient records', 1, 'disabled'],
    ['app-data', 'patient records', 2, 'enabled'],
    ['app-data', 'patient records', 3, 'enabled'],
    ['billing', undefined, 1, 'enabled'],
  ]);
  return { dataKey, wrapped, before };
}

describe('changeFileKeystoreSecret', () => {
  it('re-encrypts every version under the new password: same keys, old password refused, old envelopes still open', async () => {
    const { dataKey, wrapped, before } = await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const oldText = await readFile(path, 'utf8');

    await changeFileKeystoreSecret({ path, password: OLD, newPassword: NEW, newKdf: FAST_PBKDF2 });

    await expect(createFileProvider({ path, password: OLD })).rejects.toMatchObject({ code: 'AccessDenied' });
    const reopened = await createFileProvider({ path, password: NEW });
    expect(await contents(reopened)).toEqual(before);
    expect(await reopened.unwrapKey({ ...wrapped, context })).toEqual(dataKey);
    await reopened.close();

    const oldFile = JSON.parse(oldText);
    const newFile = JSON.parse(await readFile(path, 'utf8'));
    expect(newFile.kdf.name).toBe('pbkdf2-sha256');
    expect(newFile.kdf.salt).not.toBe(oldFile.kdf.salt);
    expect(newFile.verifier).not.toBe(oldFile.verifier);
    // Every sealed material is new (fresh nonce, new key), nothing of the old file is reused.
    const sealed = (f: typeof newFile) =>
      Object.values(f.keys).flatMap((k) =>
        (k as { versions: { material: string }[] }).versions.map((v) => v.material),
      );
    const oldSealed = new Set(sealed(oldFile));
    expect(sealed(newFile)).toHaveLength(oldSealed.size);
    for (const m of sealed(newFile)) expect(oldSealed.has(m)).toBe(false);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // No temp or lock file left behind.
    expect(await readdir(dir)).toEqual(['app.keystore.json']);
  });

  it('moves a file from a password to a master key and back', async () => {
    const { before } = await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const masterKey = new Uint8Array(randomBytes(32));
    await changeFileKeystoreSecret({ path, password: OLD, newMasterKey: masterKey });
    expect(JSON.parse(await readFile(path, 'utf8')).kdf.name).toBe('none');
    const withKey = await createFileProvider({ path, masterKey });
    expect(await contents(withKey)).toEqual(before);
    await withKey.close();

    await changeFileKeystoreSecret({ path, masterKey, newPassword: NEW, newKdf: FAST_SCRYPT });
    expect(JSON.parse(await readFile(path, 'utf8')).kdf).toMatchObject({ ...FAST_SCRYPT });
    const withPassword = await createFileProvider({ path, password: NEW });
    expect(await contents(withPassword)).toEqual(before);
    await withPassword.close();
  });

  it('leaves the file untouched when the current secret is wrong or the options are bad', async () => {
    await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const original = await readFile(path, 'utf8');
    const attempts: [Parameters<typeof changeFileKeystoreSecret>[0], string, RegExp][] = [
      [{ path, password: 'guess', newPassword: NEW }, 'AccessDenied', /wrong password or master key/],
      [{ path, masterKey: new Uint8Array(32), newPassword: NEW }, 'ConfigError', /protected by a password/],
      [{ path, password: OLD }, 'ConfigError', /give newPassword or newMasterKey/],
      [{ path, password: OLD, newPassword: '' }, 'ConfigError', /newPassword must not be empty/],
      [
        { path, password: OLD, newMasterKey: new Uint8Array(16) },
        'ConfigError',
        /newMasterKey must be 32 bytes/,
      ],
      [
        { path, password: OLD, newPassword: NEW, newMasterKey: new Uint8Array(32) },
        'ConfigError',
        /exactly one of newPassword and newMasterKey/,
      ],
      [
        { path, password: OLD, newPassword: NEW, newKdf: { name: 'scrypt', N: 3 } },
        'ConfigError',
        /newKdf: scrypt N/,
      ],
      [{ path: join(dir, 'missing.json'), password: OLD, newPassword: NEW }, 'ConfigError', /does not exist/],
    ];
    for (const [options, code, message] of attempts) {
      const attempt = changeFileKeystoreSecret({ ...options, newKdf: options.newKdf ?? FAST_SCRYPT });
      await expect(attempt, String(message)).rejects.toMatchObject({
        code,
        message: expect.stringMatching(message),
      });
      // No secret in the message.
      for (const secret of [OLD, NEW]) {
        await expect(attempt).rejects.toMatchObject({ message: expect.not.stringContaining(secret) });
      }
    }
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('refuses a damaged file without writing', async () => {
    await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const doc = JSON.parse(await readFile(path, 'utf8'));
    doc.keys.billing.description = 'edited by hand';
    const damaged = `${JSON.stringify(doc, null, 2)}\n`;
    await writeFile(path, damaged, { mode: 0o600 });
    await expect(changeFileKeystoreSecret({ path, password: OLD, newPassword: NEW })).rejects.toMatchObject({
      code: 'Corrupted',
    });
    expect(await readFile(path, 'utf8')).toBe(damaged);
  });

  it('keeps a write made by another process after this one opened the file', async () => {
    await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const other = await createFileProvider({ path, password: OLD });
    // The change opens the file, derives the new keys (slow), then takes the lock: rotate in between.
    const change = changeFileKeystoreSecret({
      path,
      password: OLD,
      newPassword: NEW,
      newKdf: { name: 'scrypt', N: 2 ** 14, r: 8, p: 1 },
    });
    await other.rotateKey?.('billing');
    await change;
    const reopened = await createFileProvider({ path, password: NEW });
    expect((await reopened.listVersions?.('billing'))?.map((v) => v.version)).toEqual([1, 2]);
    await reopened.close();
    // The provider still holding the old secret is told to reopen, not given stale keys.
    await expect(other.rotateKey?.('billing') as Promise<unknown>).rejects.toMatchObject({
      code: 'AccessDenied',
      message: expect.stringMatching(/open it again/),
    });
    await other.close();
  });

  it('waits for the lock and gives up with ProviderUnavailable, leaving the file as it was', async () => {
    await populated({ path, password: OLD, kdf: FAST_SCRYPT });
    const original = await readFile(path, 'utf8');
    await writeFile(
      `${path}.lock`,
      JSON.stringify({
        pid: process.pid,
        hostname: (await import('node:os')).hostname(),
        createdAt: new Date().toISOString(),
        token: 'held',
      }),
    );
    await expect(
      changeFileKeystoreSecret({
        path,
        password: OLD,
        newPassword: NEW,
        newKdf: FAST_SCRYPT,
        lockTimeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: 'ProviderUnavailable' });
    expect(await readFile(path, 'utf8')).toBe(original);
  });
});
