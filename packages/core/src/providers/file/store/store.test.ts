import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FAST_PBKDF2, FAST_SCRYPT } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import type { KeyProvider } from '../../../provider/key-provider.js';
import type { StoredKey } from '../../../provider/material-store.js';
import { tempPathFor } from '../disk/atomic-write.js';
import { createFileProvider } from '../provider.js';
import { createFileStore } from './store.js';

const PASSWORD = 'correct horse battery staple';
const temp = useTempDir();
let dir: string;
let path: string;

beforeEach(async () => {
  dir = temp.dir;
  path = join(dir, 'app.keystore.json');
});

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
const context = { table: 'patients' };

async function materials(provider: KeyProvider, keyId: string): Promise<Uint8Array[]> {
  const versions = (await provider.listVersions?.(keyId)) ?? [];
  return Promise.all(
    versions.map(async (v) => (await provider.getKey?.(keyId, v.version))?.material as Uint8Array),
  );
}

function storedKey(keyId: string, versions: number): StoredKey {
  const createdAt = new Date().toISOString();
  return {
    keyId,
    createdAt,
    versions: Array.from({ length: versions }, (_, i) => ({
      version: i + 1,
      createdAt,
      state: 'enabled' as const,
      material: new Uint8Array(randomBytes(32)),
    })),
  };
}

describe('file provider: create, open, reopen', () => {
  for (const kdf of [FAST_SCRYPT, FAST_PBKDF2]) {
    it(`round-trips keys and versions through the file (${kdf.name})`, async () => {
      const first = await createFileProvider({ path, password: PASSWORD, create: true, kdf });
      expect(first.type).toBe('file');
      expect(first.capabilities.rotateKey).toBe(true);
      await first.createKey?.('app-data', { description: 'patient records' });
      await first.createKey?.('billing');
      await first.rotateKey?.('app-data');
      const wrapped = await first.wrapKey({
        keyId: 'app-data',
        plaintext: new Uint8Array(32).fill(7),
        context,
      });
      const before = await materials(first, 'app-data');
      await first.close();

      const second = await createFileProvider({ path, password: PASSWORD });
      expect(await materials(second, 'app-data')).toEqual(before);
      expect(before[0]).not.toEqual(before[1]);
      expect((await second.listKeys?.())?.map((k) => [k.keyId, k.latestVersion, k.description])).toEqual([
        ['app-data', 2, 'patient records'],
        ['billing', 1, undefined],
      ]);
      expect(await second.unwrapKey({ ...wrapped, context })).toEqual(new Uint8Array(32).fill(7));
      const file = JSON.parse(await readFile(path, 'utf8'));
      expect(file.kdf).toMatchObject({ ...kdf });
      expect(JSON.stringify(file)).not.toContain(Buffer.from(before[0] as Uint8Array).toString('base64url'));
      await second.close();
    });
  }

  it('opens with a master key instead of a password, and says which secret a file needs', async () => {
    const masterKey = new Uint8Array(randomBytes(32));
    const p = await createFileProvider({ path, masterKey, create: true });
    await p.createKey?.('k');
    const material = (await p.getKey?.('k'))?.material;
    await p.close();
    expect(JSON.parse(await readFile(path, 'utf8')).kdf.name).toBe('none');
    const again = await createFileProvider({ path, masterKey });
    expect((await again.getKey?.('k'))?.material).toEqual(material);
    await again.close();
    await expect(createFileStore({ path, password: PASSWORD })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringContaining('master key'),
    });

    const other = join(dir, 'password.json');
    await (
      await createFileStore({ path: other, password: PASSWORD, create: true, kdf: FAST_PBKDF2 })
    ).close();
    await expect(createFileStore({ path: other, masterKey })).rejects.toMatchObject({ code: 'ConfigError' });
  });

  it('reports a wrong password or master key as AccessDenied, without the secret', async () => {
    await (await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_SCRYPT })).close();
    const attempt = createFileStore({ path, password: 'Correct horse battery staple' });
    await expect(attempt).rejects.toMatchObject({
      code: 'AccessDenied',
      message: expect.stringContaining('wrong password or master key'),
    });
    await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining(path) });
    await expect(attempt).rejects.toMatchObject({ message: expect.not.stringContaining('horse') });

    const keyed = join(dir, 'keyed.json');
    await (
      await createFileStore({ path: keyed, masterKey: new Uint8Array(32).fill(1), create: true })
    ).close();
    await expect(
      createFileStore({ path: keyed, masterKey: new Uint8Array(32).fill(2) }),
    ).rejects.toMatchObject({ code: 'AccessDenied' });
  });

  it('accepts a password as bytes, and normalizes string passwords to NFC', async () => {
    await (await createFileStore({ path, password: 'caf\u00e9', create: true, kdf: FAST_PBKDF2 })).close();
    await (await createFileStore({ path, password: 'cafe\u0301' })).close();
    await (await createFileStore({ path, password: Buffer.from('caf\u00e9', 'utf8') })).close();
  });

  it('refuses a missing file unless create is set, naming the path and the remedy', async () => {
    const attempt = createFileStore({ path, password: PASSWORD });
    await expect(attempt).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringContaining(path),
    });
    await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining('create: true') });
    expect(await readdir(dir)).toEqual([]);
    await expect(
      createFileStore({
        path: join(dir, 'missing', 'k.json'),
        password: PASSWORD,
        create: true,
        kdf: FAST_PBKDF2,
      }),
    ).rejects.toMatchObject({ code: 'ConfigError', message: expect.stringContaining('does not exist') });
  });

  it('opens an existing file with create: true, using the parameters stored in it', async () => {
    await (await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 })).close();
    const before = await readFile(path, 'utf8');
    const store = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_SCRYPT });
    expect(await store.list()).toEqual([]);
    await store.close();
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('validates options with ConfigError', async () => {
    const cases: unknown[] = [
      { path },
      { path, password: PASSWORD, masterKey: new Uint8Array(32) },
      { path, masterKey: new Uint8Array(16) },
      { path, password: '' },
      { path: '', password: PASSWORD },
      { path, password: PASSWORD, kdf: { name: 'scrypt', N: 2 ** 9 } },
      { path, password: PASSWORD, kdf: { name: 'scrypt', N: 3000 } },
      { path, password: PASSWORD, kdf: { name: 'scrypt', N: 2 ** 10, r: 0 } },
      { path, password: PASSWORD, kdf: { name: 'scrypt', N: 2 ** 21 } },
      { path, password: PASSWORD, kdf: { name: 'pbkdf2-sha256', iterations: 999 } },
      { path, password: PASSWORD, kdf: { name: 'argon2' } },
      { path, masterKey: new Uint8Array(32), kdf: FAST_PBKDF2 },
      { path, password: PASSWORD, lockTimeoutMs: -1 },
    ];
    for (const options of cases) {
      await expect(
        createFileStore({ create: true, ...(options as { path: string }) }),
        JSON.stringify(options),
      ).rejects.toMatchObject({ code: 'ConfigError', message: expect.not.stringContaining(PASSWORD) });
    }
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('file provider: on disk', () => {
  it('keeps the file at mode 0600 after every write and leaves no temp or lock files', async () => {
    const p = await createFileProvider({ path, password: PASSWORD, create: true, kdf: FAST_SCRYPT });
    const check = async () => {
      expect(await modeOf(path)).toBe(0o600);
      expect(await readdir(dir)).toEqual(['app.keystore.json']);
    };
    await check();
    await p.createKey?.('a');
    await check();
    await p.rotateKey?.('a');
    await check();
    await p.importKey?.('b', new Uint8Array(32).fill(9));
    await check();
    await p.deleteKey?.('a', { confirm: 'a' });
    await check();
    await p.close();
    const reopened = await createFileProvider({ path, password: PASSWORD });
    expect((await reopened.listKeys?.())?.map((k) => k.keyId)).toEqual(['b']);
    expect((await reopened.getKey?.('b'))?.material).toEqual(new Uint8Array(32).fill(9));
    await reopened.close();
  });

  it('refuses a file that group or others can access, unless allowed; a write makes it 0600 again', async () => {
    await (await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 })).close();
    await chmod(path, 0o644);
    await expect(createFileStore({ path, password: PASSWORD })).rejects.toMatchObject({
      code: 'AccessDenied',
      message: expect.stringContaining('chmod 600'),
    });
    const store = await createFileStore({ path, password: PASSWORD, allowInsecurePermissions: true });
    await store.save?.(storedKey('k', 1), 0);
    expect(await modeOf(path)).toBe(0o600);
    await store.close();
  });

  it('re-reads the file when another store changed it, and otherwise serves keys from memory', async () => {
    const a = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    const b = await createFileStore({ path, password: PASSWORD });
    await a.save?.(storedKey('k', 1), 0);
    const seen = await b.load('k');
    expect(seen?.versions.map((v) => v.version)).toEqual([1]);
    // Unchanged file: the very same decrypted object, not a new decryption.
    expect(await b.load('k')).toBe(seen);

    const sealedV1 = () => readFile(path, 'utf8').then((t) => JSON.parse(t).keys.k.versions[0].material);
    const v1Before = await sealedV1();
    const next = storedKey('k', 2);
    await b.save?.({ ...next, versions: [seen?.versions[0], next.versions[1]] } as StoredKey, 1);
    const fromA = await a.load('k');
    expect(fromA?.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(fromA?.versions[0]?.material).toEqual(seen?.versions[0]?.material);
    // An unchanged version keeps its sealed material: a write encrypts only what is new.
    expect(await sealedV1()).toBe(v1Before);
    await a.close();
    await b.close();
  });

  it('checks save against the file: a stale expectedLatest is a Conflict, an existing key KeyExists', async () => {
    const a = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    const b = await createFileStore({ path, password: PASSWORD });
    await a.save?.(storedKey('k', 1), 0);
    await expect(b.save?.(storedKey('k', 1), 0) as Promise<void>).rejects.toMatchObject({
      code: 'KeyExists',
    });
    await a.save?.(storedKey('k', 2), 1);
    // b last read version 1; the file has 2 now.
    await expect(b.save?.(storedKey('k', 2), 1) as Promise<void>).rejects.toMatchObject({ code: 'Conflict' });
    expect((await b.load('k'))?.versions).toHaveLength(2);
    await a.close();
    await b.close();
  });

  it('rejects a write the format could not hold, before touching the file', async () => {
    const store = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    const before = await readFile(path, 'utf8');
    const bad = storedKey('k', 1);
    const cases: StoredKey[] = [
      { ...bad, description: 'x'.repeat(5000) },
      { ...bad, versions: [] },
      {
        ...bad,
        versions: [{ ...(bad.versions[0] as StoredKey['versions'][0]), material: new Uint8Array(16) }],
      },
      { ...bad, keyId: '' },
    ];
    for (const key of cases) {
      await expect(store.save?.(key, 0) as Promise<void>).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
    expect(await readFile(path, 'utf8')).toBe(before);
    await store.close();
  });

  it('keeps an alias named __proto__ as an ordinary name', async () => {
    const store = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    await store.save?.(storedKey('__proto__', 1), 0);
    await store.close();
    const again = await createFileStore({ path, password: PASSWORD });
    expect((await again.list()).map((k) => k.keyId)).toEqual(['__proto__']);
    await again.close();
  });

  it('refuses a file replaced by a keystore with another password', async () => {
    const store = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    const other = join(dir, 'other.json');
    await (
      await createFileStore({ path: other, password: 'another', create: true, kdf: FAST_PBKDF2 })
    ).close();
    await writeFile(path, await readFile(other), { mode: 0o600 });
    await expect(store.load('k')).rejects.toMatchObject({ code: 'AccessDenied' });
    await store.close();
  });

  it('after close: Closed, decrypted material zeroed, close idempotent', async () => {
    const store = await createFileStore({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    await store.save?.(storedKey('k', 1), 0);
    const loaded = await store.load('k');
    await store.close();
    await store.close();
    expect(loaded?.versions[0]?.material).toEqual(new Uint8Array(32));
    await expect(store.load('k')).rejects.toMatchObject({ code: 'Closed' });
    await expect(store.save?.(storedKey('j', 1), 0) as Promise<void>).rejects.toMatchObject({
      code: 'Closed',
    });
  });
});

describe('file provider: default (OWASP) costs', () => {
  it('creates and reopens with scrypt N=2^17, r=8, p=1 and with PBKDF2 at 600,000 iterations', async () => {
    for (const kdf of [{ name: 'scrypt' as const }, { name: 'pbkdf2-sha256' as const }]) {
      const file = join(dir, `${kdf.name}.json`);
      const p = await createFileProvider({ path: file, password: PASSWORD, create: true, kdf });
      await p.createKey?.('k');
      const material = (await p.getKey?.('k'))?.material;
      await p.close();
      const again = await createFileProvider({ path: file, password: PASSWORD });
      expect((await again.getKey?.('k'))?.material).toEqual(material);
      await again.close();
      const stored = JSON.parse(await readFile(file, 'utf8')).kdf;
      expect(stored).toMatchObject(
        kdf.name === 'scrypt' ? { name: 'scrypt', N: 131072, r: 8, p: 1 } : { iterations: 600000 },
      );
    }
    // No kdf at all: scrypt at OWASP cost.
    await (await createFileStore({ path, password: PASSWORD, create: true })).close();
    expect(JSON.parse(await readFile(path, 'utf8')).kdf).toMatchObject({ name: 'scrypt', N: 131072 });
  });
});

describe('file provider: temp files left by a crashed writer', () => {
  it('removes them on the next write once older than staleLockMs, and keeps younger ones', async () => {
    const provider = await createFileProvider({ path, password: PASSWORD, create: true, kdf: FAST_SCRYPT });
    await provider.createKey?.('app-data');
    // What a writer killed between writing its temp file and the rename leaves behind.
    const crashed = tempPathFor(path);
    const recent = tempPathFor(path);
    await writeFile(crashed, await readFile(path, 'utf8'), { mode: 0o600 });
    await writeFile(recent, await readFile(path, 'utf8'), { mode: 0o600 });
    const old = new Date(Date.now() - 61_000);
    await utimes(crashed, old, old);

    await provider.rotateKey?.('app-data');
    const names = await readdir(dir);
    expect(names).not.toContain(crashed.slice(dir.length + 1));
    expect(names.sort()).toEqual(['app.keystore.json', recent.slice(dir.length + 1)].sort());
    expect((await provider.listVersions?.('app-data'))?.map((v) => v.version)).toEqual([1, 2]);
    await provider.close();
  });
});
