import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fernet } from '@keystore/core';
import { isKeystoreError, type KeyProvider } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBlackboxProvider } from '../src/index.js';
import { decryptFile } from '../src/pgp/decrypt.js';
import { type BuiltAdmin, type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';

// Counts decryptions (the store calls the module's export); passes every call through.
vi.mock('../src/pgp/decrypt.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/pgp/decrypt.js')>();
  return { ...original, decryptFile: vi.fn(original.decryptFile) };
});
const decryptCalls = vi.mocked(decryptFile);

/*
 * The provider on one repository built with GnuPG as Blackbox's scripts
 * build it: an RSA admin and a Curve25519 admin, and a key file holding a
 * plain Fernet key as Python's Fernet.generate_key() writes it. Each test
 * uses key ids of its own.
 */
const gnupg = await requireService('gpg');
const gpgBin = gnupg.env.GPG_BIN ?? 'gpg';
const run = randomBytes(4).toString('hex');
const hasPython =
  spawnSync('python3', ['-c', 'import cryptography.fernet'], { timeout: 30_000 }).status === 0;

function python(script: string, args: string[], input?: string): string {
  const result = spawnSync('python3', ['-c', script, ...args], { input, timeout: 30_000 });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

/** A Fernet key as Python writes it (`Fernet.generate_key()`); core's generator where Python is missing. */
const pythonKey = () =>
  hasPython
    ? python('from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())', [])
    : Fernet.generateKey();
const PATIENTS_KEY = pythonKey();

const repo: BuiltRepo | undefined = gnupg.skip
  ? undefined
  : buildBlackboxRepo(gpgBin, {
      admins: [
        { email: `rsa-${run}@example.com`, algo: 'rsa' },
        { email: `curve-${run}@example.com`, algo: 'curve25519' },
      ],
      files: { 'keys/patients': `${PATIENTS_KEY}\n` },
    });

function built() {
  if (repo === undefined) throw new Error('no repository');
  const [rsa, curve] = repo.admins as [BuiltAdmin, BuiltAdmin];
  return { repo, rsa, curve, data: join(repo.root, repo.dataDir) };
}

const providers: KeyProvider[] = [];
async function providerAs(admin: BuiltAdmin): Promise<KeyProvider> {
  const provider = await createBlackboxProvider({
    repo: built().repo.root,
    identity: admin.armoredSecretKey,
    passphrase: admin.passphrase,
  });
  providers.push(provider);
  return provider;
}

/** `gpg --encrypt` into the repository as blackbox_edit_end does, to the given admins. */
function gpgEncrypt(path: string, plaintext: string, to: readonly BuiltAdmin[]): void {
  const { repo } = built();
  const plain = join(repo.root, path);
  writeFileSync(plain, plaintext);
  const recipients = to.flatMap((a) => ['-r', a.email]);
  repo.dataGpg(['--trust-model=always', '--encrypt', '-o', `${plain}.gpg`, ...recipients, plain]);
  rmSync(plain);
  // Registered, as blackbox_register_new_file does: a key is a registered file.
  const files = join(repo.root, repo.dataDir, 'blackbox-files.txt');
  if (!readFileSync(files, 'utf8').split('\n').includes(path)) appendFileSync(files, `${path}\n`);
}

async function errorOf(promise: Promise<unknown> | undefined): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const fernetKeyOf = (material: Uint8Array) => `${Buffer.from(material).toString('base64url')}=`;

afterAll(async () => {
  for (const provider of providers) await provider.close();
  repo?.remove();
});

describe.skipIf(gnupg.skip)('interoperability with GnuPG 2.2 and Python', () => {
  it('reads a plain Fernet key file gpg encrypted as version 1, for the RSA and the Curve25519 admin, and opens a token Python made with it', async () => {
    const { rsa, curve } = built();
    const token = hasPython
      ? python(
          'import sys; from cryptography.fernet import Fernet; print(Fernet(sys.argv[1].encode()).encrypt(b"record").decode())',
          [PATIENTS_KEY],
        )
      : new Fernet(PATIENTS_KEY).encrypt('record');
    for (const admin of [rsa, curve]) {
      const provider = await providerAs(admin);
      const key = await provider.getKey?.('patients');
      expect(key?.version).toBe(1);
      expect(fernetKeyOf(key?.material as Uint8Array)).toBe(PATIENTS_KEY);
      expect(Buffer.from(new Fernet(key?.material as Uint8Array).decrypt(token)).toString()).toBe('record');
      expect((await provider.listVersions?.('patients'))?.map((v) => [v.version, v.state])).toEqual([
        [1, 'enabled'],
      ]);
    }
  });

  it('writes files (create, import, rotate) that gpg decrypts for every admin, with only one admin configured; Python MultiFernet reads line 1 after a rotation', async () => {
    const { repo, rsa, curve } = built();
    const provider = await providerAs(curve); // the RSA admin's identity is nowhere configured
    const created = `created-${run}`;
    const imported = `imported-${run}`;
    const material = new Uint8Array(randomBytes(32));
    await provider.createKey?.(created);
    await provider.importKey?.(imported, material);
    const v1 = await provider.getKey?.(created);
    await provider.rotateKey?.(created);
    const v2 = await provider.getKey?.(created);
    expect(v2?.version).toBe(2);
    for (const [keyId, newest] of [
      [imported, material],
      [created, v2?.material],
    ] as const) {
      const texts = [rsa, curve].map((admin) => repo.decryptAs(admin, `keys/${keyId}`).toString());
      expect(texts[0]).toBe(texts[1]);
      // Line 1 starts with the newest enabled version's Fernet key.
      expect(texts[0]?.split('\n')[0]?.split(',')[0]).toBe(fernetKeyOf(newest as Uint8Array));
    }
    const line1 = repo.decryptAs(rsa, `keys/${created}`).toString().split('\n')[0] as string;
    expect(line1.split(',')).toHaveLength(2);
    if (hasPython) {
      const oldToken = new Fernet(v1?.material as Uint8Array).encrypt('old record');
      const script = `
import sys
from cryptography.fernet import Fernet, MultiFernet
multi = MultiFernet([Fernet(k) for k in sys.stdin.read().split(',')])
assert multi.decrypt(sys.argv[1].encode()) == b'old record'
print(multi.encrypt(b'new record').decode())
`;
      const newToken = python(script, [oldToken], line1);
      expect(Buffer.from(new Fernet(v2?.material as Uint8Array).decrypt(newToken)).toString()).toBe(
        'new record',
      );
    }
  });

  it('decrypts a file once per change: a second load does not decrypt, a re-encryption by gpg is picked up', async () => {
    const { rsa, curve } = built();
    const keyId = `cached-${run}`;
    const first = pythonKey();
    gpgEncrypt(`keys/${keyId}`, `${first}\n`, [rsa, curve]);
    const provider = await providerAs(rsa);
    decryptCalls.mockClear();
    expect(fernetKeyOf((await provider.getKey?.(keyId))?.material as Uint8Array)).toBe(first);
    expect(fernetKeyOf((await provider.getKey?.(keyId))?.material as Uint8Array)).toBe(first);
    const wrapped = await provider.wrapKey({ keyId, plaintext: new Uint8Array(32), context: {} });
    await provider.unwrapKey({ ...wrapped, context: {} });
    expect(decryptCalls).toHaveBeenCalledTimes(1);

    const second = pythonKey();
    gpgEncrypt(`keys/${keyId}`, `${second}\n`, [rsa, curve]); // gpg rewrites the .gpg in place
    expect(fernetKeyOf((await provider.getKey?.(keyId))?.material as Uint8Array)).toBe(second);
    expect(decryptCalls).toHaveBeenCalledTimes(2);
  });
});

describe.skipIf(gnupg.skip)('errors a user can act on, typed, naming the file, never its contents', () => {
  beforeEach(() => {
    decryptCalls.mockClear(); // a block: a function returned from beforeEach would be run as its teardown
  });

  it('a wrong passphrase is AccessDenied when the provider is created', async () => {
    const { repo, rsa } = built();
    const wrong = `wrong-${run}`;
    const error = await errorOf(
      createBlackboxProvider({ repo: repo.root, identity: rsa.armoredSecretKey, passphrase: wrong }),
    );
    expect(isKeystoreError(error, 'AccessDenied')).toBe(true);
    expect(error.message).toContain(rsa.fingerprint);
    expect(error.message).not.toContain(wrong);
  });

  it('an identity not among the recipients is AccessDenied naming the file', async () => {
    const { rsa, curve } = built();
    const keyId = `only-curve-${run}`;
    const secret = pythonKey();
    gpgEncrypt(`keys/${keyId}`, `${secret}\n`, [curve]);
    const provider = await providerAs(rsa);
    const error = await errorOf(provider.getKey?.(keyId));
    expect(isKeystoreError(error, 'AccessDenied')).toBe(true);
    expect(error.message).toContain(`keys/${keyId}.gpg`);
    expect(error.message).not.toContain(secret);
    expect(fernetKeyOf((await (await providerAs(curve)).getKey?.(keyId))?.material as Uint8Array)).toBe(
      secret,
    );
  });

  it('a registered file whose .gpg is missing, and a corrupted .gpg, are Corrupted naming the file', async () => {
    const { repo, rsa, data } = built();
    const filesFile = join(data, 'blackbox-files.txt');
    const listed = readFileSync(filesFile);
    // Both registered (a key is a registered file): one without its .gpg, one with a damaged one.
    appendFileSync(filesFile, `keys/gone-${run}\nkeys/bad-${run}\n`);
    writeFileSync(join(repo.root, `keys/bad-${run}.gpg`), randomBytes(80));
    const provider = await providerAs(rsa);
    try {
      const gone = await errorOf(provider.getKey?.(`gone-${run}`));
      expect(isKeystoreError(gone, 'Corrupted')).toBe(true);
      expect(gone.message).toContain(`keys/gone-${run}.gpg is missing`);
      const bad = await errorOf(provider.getKey?.(`bad-${run}`));
      expect(isKeystoreError(bad, 'Corrupted')).toBe(true);
      expect(bad.message).toContain(`keys/bad-${run}.gpg`);
    } finally {
      writeFileSync(filesFile, listed);
      rmSync(join(repo.root, `keys/bad-${run}.gpg`));
    }
  });

  it('an admin in blackbox-admins.txt without a public key is ConfigError on write, and nothing is written', async () => {
    const { repo, rsa, data } = built();
    const adminsFile = join(data, 'blackbox-admins.txt');
    const listed = readFileSync(adminsFile);
    const ghost = `ghost-${run}@example.com`;
    appendFileSync(adminsFile, `${ghost}\n`);
    const provider = await providerAs(rsa);
    try {
      const error = await errorOf(provider.createKey?.(`ghostly-${run}`));
      expect(isKeystoreError(error, 'ConfigError')).toBe(true);
      expect(error.message).toContain(ghost);
      expect(existsSync(join(repo.root, `keys/ghostly-${run}.gpg`))).toBe(false);
    } finally {
      writeFileSync(adminsFile, listed);
    }
  });

  it('a key id leading out of the repository (.., a symlinked directory) is InvalidArgument, with no file read or written', async () => {
    const { repo, rsa, curve } = built();
    // A readable key file outside, which the provider would decrypt if it followed the link.
    const outside = mkdtempSync(join(tmpdir(), 'bbprovider-outside-'));
    try {
      const secret = pythonKey();
      gpgEncrypt(`keys/ext-${run}`, `${secret}\n`, [rsa, curve]);
      writeFileSync(join(outside, 'x.gpg'), readFileSync(join(repo.root, `keys/ext-${run}.gpg`)));
      symlinkSync(outside, join(repo.root, `keys/link-${run}`));
      const provider = await providerAs(rsa);
      decryptCalls.mockClear();
      for (const attempt of [
        provider.getKey?.('../x'),
        provider.getKey?.(`link-${run}/x`),
        provider.createKey?.(`link-${run}/y`),
      ]) {
        const error = await errorOf(attempt);
        expect(isKeystoreError(error, 'InvalidArgument')).toBe(true);
        expect(error.message).not.toContain(secret);
      }
      expect(decryptCalls).not.toHaveBeenCalled();
      expect(existsSync(join(outside, 'y.gpg'))).toBe(false);
    } finally {
      rmSync(join(repo.root, `keys/link-${run}`), { force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
