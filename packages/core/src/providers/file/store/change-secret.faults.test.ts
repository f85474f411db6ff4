import { randomBytes } from 'node:crypto';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FAST_SCRYPT } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { tempPathFor } from '../disk/atomic-write.js';
import { createFileProvider } from '../provider.js';
import { changeFileKeystoreSecret } from './change-secret.js';

/**
 * The secret change where it is hard to reach from outside: what it leaves in
 * memory, a directory sync that fails after the rename, and temp files.
 */
const probe = vi.hoisted(() => ({ failDirSync: false, sealed: [] as Uint8Array[] }));

vi.mock('../disk/atomic-write.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../disk/atomic-write.js')>();
  return {
    ...real,
    atomicWriteFile: async (...args: Parameters<typeof real.atomicWriteFile>) => {
      await real.atomicWriteFile(...args);
      if (probe.failDirSync)
        throw new real.ReplacedNotDurable(Object.assign(new Error('io'), { code: 'EIO' }));
    },
  };
});
vi.mock('../format/material.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../format/material.js')>();
  return {
    ...real,
    sealMaterial: (...args: Parameters<typeof real.sealMaterial>) => {
      probe.sealed.push(args[3]);
      return real.sealMaterial(...args);
    },
  };
});

const OLD = 'old-pa55-q9x';
const NEW = 'new-pa55-z7w';
const temp = useTempDir('ks.json');
let dir: string;
let path: string;

beforeEach(async () => {
  ({ dir, path } = temp);
  const provider = await createFileProvider({ path, password: OLD, create: true, kdf: FAST_SCRYPT });
  await provider.createKey?.('a');
  await provider.rotateKey?.('a');
  await provider.createKey?.('b');
  await provider.close();
  probe.sealed.length = 0;
  probe.failDirSync = false;
});

describe('changeFileKeystoreSecret: faults and leftovers', () => {
  it('zeroes every decrypted key version it handled', async () => {
    const reader = await createFileProvider({ path, password: OLD });
    const material = Buffer.from((await reader.getKey?.('a', 2))?.material as Uint8Array);
    await reader.close();
    probe.sealed.length = 0;
    await changeFileKeystoreSecret({ path, password: OLD, newPassword: NEW, newKdf: FAST_SCRYPT });
    expect(probe.sealed).toHaveLength(3);
    for (const m of probe.sealed) expect(Buffer.from(m).equals(Buffer.alloc(32))).toBe(true);
    // Zeroed after use, not before: the keys themselves are intact.
    const after = await createFileProvider({ path, password: NEW });
    expect(Buffer.from((await after.getKey?.('a', 2))?.material as Uint8Array).equals(material)).toBe(true);
    await after.close();
  });

  it('says the secret WAS changed when the file was replaced but its directory sync failed', async () => {
    probe.failDirSync = true;
    const attempt = changeFileKeystoreSecret({ path, password: OLD, newPassword: NEW, newKdf: FAST_SCRYPT });
    await expect(attempt).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(/WAS changed: use the new one/),
    });
    probe.failDirSync = false;
    await expect(attempt).rejects.toMatchObject({ message: expect.stringMatching(/EIO/) });
    const reopened = await createFileProvider({ path, password: NEW });
    expect((await reopened.listKeys?.())?.map((k) => k.keyId)).toEqual(['a', 'b']);
    await reopened.close();
  });

  it('removes every temp file of the keystore, however recent, and no other file', async () => {
    const recent = tempPathFor(path);
    const old = tempPathFor(path);
    const other = tempPathFor(join(dir, 'other.json'));
    for (const p of [recent, old, other]) await writeFile(p, await readFile(path, 'utf8'), { mode: 0o600 });
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(old, longAgo, longAgo);
    await changeFileKeystoreSecret({ path, password: OLD, newPassword: NEW, newKdf: FAST_SCRYPT });
    expect((await readdir(dir)).sort()).toEqual(['ks.json', other.slice(dir.length + 1)].sort());
  });

  it('names the missing or misspelt option, and never echoes a secret', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ path, newPassword: NEW }, /give password or masterKey: the current secret/],
      [
        { path, password: OLD, newPassword: NEW, kdf: FAST_SCRYPT },
        /unknown option 'kdf' \(the new secret's KDF is newKdf\)/,
      ],
      [
        { path, password: 'guess-123', newPassword: NEW, newKdf: FAST_SCRYPT },
        /wrong password or master key/,
      ],
      [{ path, password: OLD, newMasterKey: randomBytes(31) }, /newMasterKey must be 32 bytes/],
    ];
    const original = await readFile(path, 'utf8');
    for (const [options, message] of cases) {
      const attempt = changeFileKeystoreSecret(options as never);
      await expect(attempt).rejects.toMatchObject({ message: expect.stringMatching(message) });
      for (const secret of [OLD, NEW, 'guess-123']) {
        await expect(attempt).rejects.toMatchObject({ message: expect.not.stringContaining(secret) });
      }
    }
    expect(await readFile(path, 'utf8')).toBe(original);
  });
});
