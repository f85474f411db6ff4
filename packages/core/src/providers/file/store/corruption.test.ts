import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FAST_SCRYPT } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import type { KeystoreError } from '../../../errors/keystore-error.js';
import { createFileProvider } from '../provider.js';
import { createFileStore } from './store.js';

/**
 * A damaged keystore file is `Corrupted`, whatever the damage, and none of
 * it is used: opening fails as a whole. Messages name the path, never the
 * contents.
 */
const masterKey = new Uint8Array(randomBytes(32));
const temp = useTempDir();
let dir: string;
let path: string;
let original: string;
// biome-ignore lint/suspicious/noExplicitAny: the file's JSON, edited freely by the tests
type FileJson = any;

beforeEach(async () => {
  dir = temp.dir;
  path = join(dir, 'ks.json');
  const p = await createFileProvider({ path, masterKey, create: true });
  await p.createKey?.('app-data', { description: 'records' });
  await p.rotateKey?.('app-data');
  await p.rotateKey?.('app-data');
  await p.createKey?.('billing');
  await p.close();
  original = await readFile(path, 'utf8');
});

async function openError(text: string) {
  await writeFile(path, text, { mode: 0o600 });
  const attempt = createFileStore({ path, masterKey });
  await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining(path) });
  for (const sealed of JSON.parse(original).keys['app-data'].versions.map((v: FileJson) => v.material)) {
    await expect(attempt).rejects.toMatchObject({ message: expect.not.stringContaining(sealed) });
  }
  return attempt.then(
    () => expect.unreachable(),
    (error: KeystoreError) => error,
  );
}

async function expectCorrupted(edit: (file: FileJson) => void) {
  const file = JSON.parse(original);
  edit(file);
  const error = await openError(JSON.stringify(file, null, 2));
  expect(error.code).toBe('Corrupted');
  return error;
}

function flipByte(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64url');
  bytes[index] = (bytes[index] as number) ^ 0x01;
  return bytes.toString('base64url');
}

describe('file provider: corruption', () => {
  it('opens the untouched file, also re-indented with members in another order (the MAC is over canonical JSON)', async () => {
    const file = JSON.parse(original);
    const reordered = {
      mac: file.mac,
      keys: file.keys,
      generation: file.generation,
      verifier: file.verifier,
      kdf: file.kdf,
      version: file.version,
    };
    await writeFile(path, JSON.stringify({ format: file.format, ...reordered }), { mode: 0o600 });
    const store = await createFileStore({ path, masterKey });
    expect((await store.load('app-data'))?.versions).toHaveLength(3);
    await store.close();
  });

  it('reports text that is not JSON, or an empty file, as Corrupted', async () => {
    for (const text of ['', 'not json at all', '{"format": "keystore-file", ', '[]', 'null']) {
      const error = await openError(text);
      expect(error.code).toBe('Corrupted');
      expect(error.message).not.toContain('not json at all');
    }
  });

  it('reports a file truncated at any length as Corrupted', async () => {
    const lengths = new Set<number>([1, 2, 10, original.length - 2, original.length - 3]);
    for (let n = 0; n < original.length - 1; n += Math.ceil(original.length / 97)) lengths.add(n);
    for (const n of lengths) {
      const error = await openError(original.slice(0, n));
      expect(error.code, `truncated to ${n} of ${original.length} characters`).toBe('Corrupted');
    }
  });

  it('reports a flipped byte in a material ciphertext, nonce or tag as Corrupted', async () => {
    for (const index of [0, 11, 12, 30, 43, 44, 59]) {
      await expectCorrupted((f) => {
        const v = f.keys['app-data'].versions[1];
        v.material = flipByte(v.material, index);
      });
    }
  });

  it('reports an edited or missing MAC as Corrupted', async () => {
    await expectCorrupted((f) => {
      f.mac = flipByte(f.mac, 0);
    });
    await expectCorrupted((f) => {
      f.mac = randomBytes(32).toString('base64url');
    });
    await expectCorrupted((f) => {
      f.mac = `${f.mac.slice(0, -1)}!`;
    });
    await expectCorrupted((f) => {
      delete f.mac;
    });
  });

  it('reports a removed version, a removed key or swapped versions as Corrupted', async () => {
    await expectCorrupted((f) => {
      f.keys['app-data'].versions.pop();
    });
    await expectCorrupted((f) => {
      f.keys['app-data'].versions.splice(1, 1);
    });
    await expectCorrupted((f) => {
      delete f.keys.billing;
    });
    await expectCorrupted((f) => {
      const [v1, v2] = f.keys['app-data'].versions;
      [v1.material, v2.material] = [v2.material, v1.material];
    });
    await expectCorrupted((f) => {
      // billing's version 1 moved under app-data.
      f.keys['app-data'].versions[0].material = f.keys.billing.versions[0].material;
    });
    await expectCorrupted((f) => {
      f.keys['other-name'] = f.keys.billing;
      delete f.keys.billing;
    });
  });

  it('reports any other edited, added or missing field as Corrupted', async () => {
    const edits: ((f: FileJson) => void)[] = [
      (f) => {
        f.keys['app-data'].description = 'edited';
      },
      (f) => {
        delete f.keys['app-data'].description;
      },
      (f) => {
        f.keys['app-data'].versions[2].state = 'disabled';
      },
      (f) => {
        f.keys['app-data'].versions[0].createdAt = '1999-01-01T00:00:00.000Z';
      },
      (f) => {
        f.keys['app-data'].versions[0].version = 7;
      },
      (f) => {
        f.keys.billing.extra = true;
      },
      (f) => {
        f.format = 'jks';
      },
      (f) => {
        f.version = 0;
      },
      (f) => {
        f.keys = [];
      },
      (f) => {
        f.keys['app-data'].versions = [];
      },
      (f) => {
        f.kdf.salt = 'short';
      },
    ];
    for (const edit of edits) await expectCorrupted(edit);
  });

  it('refuses absurd KDF costs stored in a file before deriving anything', async () => {
    const file = JSON.parse(original);
    file.kdf = { name: 'scrypt', salt: file.kdf.salt, N: 2 ** 30, r: 8, p: 1 };
    const started = Date.now();
    const error = await openError(JSON.stringify(file));
    expect(error.code).toBe('Corrupted');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses an edited scrypt block of 0.9 GiB and 112x the default work in well under a second', async () => {
    const made = join(dir, 'pw.json');
    await (await createFileStore({ path: made, password: 'pw', create: true, kdf: FAST_SCRYPT })).close();
    const file = JSON.parse(await readFile(made, 'utf8'));
    file.kdf = { ...file.kdf, N: 2 ** 20, r: 7, p: 16 };
    await writeFile(made, JSON.stringify(file), { mode: 0o600 });
    const started = Date.now();
    await expect(createFileStore({ path: made, password: 'pw' })).rejects.toMatchObject({
      code: 'Corrupted',
      message: expect.stringMatching(/kdf parameters are out of range \(scrypt N \* r/),
    });
    expect(Date.now() - started).toBeLessThan(500);
  }, 5_000);

  it('asks for an upgrade when the file has a newer format version', async () => {
    const file = JSON.parse(original);
    file.version = 3;
    file.addedInVersion3 = {};
    const error = await openError(JSON.stringify(file));
    expect(error.code).toBe('ConfigError');
    expect(error.message).toContain('upgrade');
  });

  it('an open store that finds the file damaged on re-read reports Corrupted and serves none of it', async () => {
    const store = await createFileStore({ path, masterKey });
    expect((await store.load('billing'))?.versions).toHaveLength(1);
    const file = JSON.parse(original);
    file.keys.billing.versions[0].material = flipByte(file.keys.billing.versions[0].material, 20);
    await writeFile(path, JSON.stringify(file));
    await expect(store.load('app-data')).rejects.toMatchObject({ code: 'Corrupted' });
    await expect(store.list()).rejects.toMatchObject({ code: 'Corrupted' });
    await writeFile(path, original);
    expect((await store.list()).map((k) => k.keyId).sort()).toEqual(['app-data', 'billing']);
    await store.close();
  });
});
