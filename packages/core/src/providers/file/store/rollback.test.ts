import { randomBytes } from 'node:crypto';
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import type { KeystoreError } from '../../../errors/keystore-error.js';
import type { KeyProvider } from '../../../provider/key-provider.js';
import { createFileProvider } from '../provider.js';
import { changeFileKeystoreSecret } from './change-secret.js';
import { restoreFileKeystore } from './restore.js';
import { createFileStore } from './store.js';

/**
 * An older copy of the keystore file put back in place (by someone with
 * write access to the directory, or a careless restore) would resurrect
 * deleted keys and rotated-away versions. Every write increments the file's
 * MAC'd generation; a provider that has seen generation N refuses a file
 * with a lower one, or with N and other content, and never wraps under it.
 */
const masterKey = new Uint8Array(randomBytes(32));
const at = useTempDir();
const context = { table: 't' };
const onDisk = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

async function provider(path = at.path, extra: { minGeneration?: number } = {}): Promise<KeyProvider> {
  return createFileProvider({ path, masterKey, create: true, ...extra });
}

async function expectRollback(promise: Promise<unknown> | undefined) {
  const attempt = promise ?? Promise.resolve();
  await expect(attempt).rejects.toMatchObject({
    code: 'Corrupted',
    message: expect.stringContaining('rolled back'),
  });
  await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining(at.path) });
  return attempt.then(
    () => expect.unreachable(),
    (error: KeystoreError) => error,
  );
}

describe('file provider: generation and rollback', () => {
  it('writes format version 2 with a generation that every write increments', async () => {
    const p = await provider();
    expect(await onDisk(at.path)).toMatchObject({ version: 2, generation: 1 });
    await p.createKey?.('a');
    expect((await onDisk(at.path)).generation).toBe(2);
    await p.rotateKey?.('a');
    await p.deleteKey?.('a', { confirm: 'a' });
    expect((await onDisk(at.path)).generation).toBe(4);
    await p.close();
  });

  it('opens a version-1 file (no generation: generation 0) and the first write adds generation 1', async () => {
    const legacy = await readFile(
      join(import.meta.dirname, '..', 'fixtures', 'format-v1.keystore.json'),
      'utf8',
    );
    await writeFile(at.path, legacy, { mode: 0o600 });
    const key = new Uint8Array(32).map((_, i) => i + 1);
    const p = await createFileProvider({ path: at.path, masterKey: key });
    expect((await p.listVersions?.('legacy'))?.map((v) => v.version)).toEqual([1, 2]);
    expect(await readFile(at.path, 'utf8')).toBe(legacy);
    await p.rotateKey?.('legacy');
    const file = await onDisk(at.path);
    expect(file).toMatchObject({ version: 2, generation: 1 });
    expect(file.keys.legacy.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    await p.close();
    // And the written file opens again.
    const again = await createFileProvider({ path: at.path, masterKey: key });
    expect((await again.getKey?.('legacy'))?.version).toBe(3);
    await again.close();
  });

  it('an open provider refuses an older copy copied over the file, for reads, wraps and rotations', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.createKey?.('retired');
    const old = join(at.dir, 'old.json');
    await copyFile(at.path, old);
    await p.rotateKey?.('a');
    await p.deleteKey?.('retired', { confirm: 'retired' });
    const current = await readFile(at.path, 'utf8');

    await copyFile(old, at.path); // in place: same inode, new content
    await expectRollback(p.getKey?.('retired'));
    await expectRollback(p.wrapKey({ keyId: 'a', plaintext: new Uint8Array(32), context }));
    await expectRollback(p.rotateKey?.('a'));
    await expectRollback(p.listKeys?.());
    // Nothing was written under the stale file.
    expect(await readFile(at.path, 'utf8')).toBe(await readFile(old, 'utf8'));
    // The current file back: the provider goes on.
    await writeFile(at.path, current);
    expect((await p.getKey?.('a'))?.version).toBe(2);
    await p.close();
  });

  it('a provider refuses an older copy renamed into place after another process wrote', async () => {
    const a = await provider();
    await a.createKey?.('a');
    const old = join(at.dir, 'old.json');
    await copyFile(at.path, old);
    const b = await provider();
    await b.rotateKey?.('a');
    // A sees B's write (generation 3) ...
    expect((await a.getKey?.('a'))?.version).toBe(2);
    // ... then the generation-2 copy comes back.
    await rename(old, at.path);
    const error = await expectRollback(a.wrapKey({ keyId: 'a', plaintext: new Uint8Array(32), context }));
    expect(error.message).toMatch(/generation 2.*generation 3/);
    await expectRollback(b.rotateKey?.('a'));
    await a.close();
    await b.close();
  });

  it('refuses the same generation with other content (a replayed other branch)', async () => {
    const a = await provider();
    const first = join(at.dir, 'first.json');
    await copyFile(at.path, first); // generation 1
    await a.createKey?.('a'); // generation 2, seen by a
    const seen = await readFile(at.path, 'utf8');
    // Another branch from generation 1: also generation 2, other content.
    await copyFile(first, at.path);
    const b = await provider();
    await b.createKey?.('b');
    await b.close();
    expect((await onDisk(at.path)).generation).toBe(2);
    await expectRollback(a.getKey?.('a'));
    await writeFile(at.path, seen);
    expect((await a.getKey?.('a'))?.version).toBe(1);
    await a.close();
  });

  it('minGeneration: a freshly started provider refuses a file below it, and does not create a missing one', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.rotateKey?.('a');
    await p.close();
    expect((await onDisk(at.path)).generation).toBe(3);
    await (await provider(at.path, { minGeneration: 3 })).close();
    await expectRollback(provider(at.path, { minGeneration: 4 }));
    const missing = join(at.dir, 'missing.json');
    await expect(provider(missing, { minGeneration: 1 })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringContaining('minGeneration'),
    });
    await expect(provider(at.path, { minGeneration: -1 })).rejects.toMatchObject({ code: 'ConfigError' });
  });
});

describe('changeFileKeystoreSecret and the generation', () => {
  it('carries the generation forward', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.close();
    const newMasterKey = new Uint8Array(randomBytes(32));
    await changeFileKeystoreSecret({ path: at.path, masterKey, newMasterKey });
    expect((await onDisk(at.path)).generation).toBe(3);
    const reopened = await createFileStore({ path: at.path, masterKey: newMasterKey, minGeneration: 3 });
    expect((await reopened.load('a'))?.versions).toHaveLength(1);
    await reopened.close();
  });
});

describe('restoreFileKeystore', () => {
  it('puts a backup back deliberately, above every generation seen: running providers accept it', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.createKey?.('retired');
    const backup = join(at.dir, 'backup.json');
    await copyFile(at.path, backup); // generation 3
    await p.deleteKey?.('retired', { confirm: 'retired' });
    await p.rotateKey?.('a'); // generation 5
    expect(await p.listKeys?.()).toHaveLength(1);

    const { generation } = await restoreFileKeystore({ path: at.path, from: backup, masterKey });
    expect(generation).toBe(6);
    const file = await onDisk(at.path);
    expect(file.generation).toBe(6);
    const saved = await onDisk(backup);
    expect(file.keys).toEqual(saved.keys);
    expect(file.verifier).toBe(saved.verifier);
    // The running provider takes it as the newest state.
    expect((await p.listKeys?.())?.map((k) => k.keyId).sort()).toEqual(['a', 'retired']);
    expect((await p.getKey?.('a'))?.version).toBe(1);
    await p.close();
  });

  it('uses minGeneration when the current file cannot be read, and creates a deleted file', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.close();
    const backup = join(at.dir, 'backup.json');
    await copyFile(at.path, backup);
    await writeFile(at.path, 'damaged');
    expect(
      (await restoreFileKeystore({ path: at.path, from: backup, masterKey, minGeneration: 40 })).generation,
    ).toBe(41);
    const other = join(at.dir, 'deleted.json');
    expect((await restoreFileKeystore({ path: other, from: backup, masterKey })).generation).toBe(3);
    const reopened = await createFileStore({ path: other, masterKey, minGeneration: 3 });
    expect((await reopened.load('a'))?.versions).toHaveLength(1);
    await reopened.close();
  });

  it('checks the backup first: a wrong secret or a damaged backup leaves the file untouched', async () => {
    const p = await provider();
    await p.createKey?.('a');
    await p.close();
    const before = await readFile(at.path, 'utf8');
    const backup = join(at.dir, 'backup.json');
    await copyFile(at.path, backup);
    await expect(
      restoreFileKeystore({ path: at.path, from: backup, masterKey: new Uint8Array(32) }),
    ).rejects.toMatchObject({ code: 'AccessDenied' });
    const file = await onDisk(backup);
    file.keys.a.createdAt = '2000-01-01T00:00:00.000Z';
    await writeFile(backup, JSON.stringify(file));
    await expect(restoreFileKeystore({ path: at.path, from: backup, masterKey })).rejects.toMatchObject({
      code: 'Corrupted',
    });
    expect(await readFile(at.path, 'utf8')).toBe(before);
    await expect(
      restoreFileKeystore({ path: at.path, from: join(at.dir, 'nope'), masterKey }),
    ).rejects.toMatchObject({ code: 'ConfigError' });
  });
});
