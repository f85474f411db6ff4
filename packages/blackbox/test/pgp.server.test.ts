import { randomBytes } from 'node:crypto';
import { isKeystoreError } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import type { Key } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptFile, messageRecipients } from '../src/pgp/decrypt.js';
import { encryptToRecipients } from '../src/pgp/encrypt.js';
import { type Identity, loadIdentity } from '../src/pgp/identity.js';
import { matchAdmins, readPubring } from '../src/pgp/public-keys.js';
import { createGnupgHome, type GnupgHome, generateKey } from './support/gnupg.js';

const gnupg = await requireService('gpg');
const gpgBin = gnupg.env.GPG_BIN ?? 'gpg';
const run = randomBytes(4).toString('hex');

const homes: GnupgHome[] = [];
function newHome(): GnupgHome {
  const home = createGnupgHome(gpgBin);
  homes.push(home);
  return home;
}
afterAll(() => {
  for (const home of homes.splice(0)) home.remove();
});

/** One admin: a home holding only its own (passphrase-protected) secret key. */
interface Admin {
  readonly mail: string;
  readonly home: GnupgHome;
  readonly fingerprint: string;
  readonly passphrase: string;
  readonly armoredSecret: string;
}

function makeAdmin(name: string, algo: string, usage: string): Admin {
  const home = newHome();
  const mail = `${name}-${run}@example.com`;
  const passphrase = `pass ${randomBytes(6).toString('hex')}`;
  const loopback = ['--pinentry-mode', 'loopback', '--passphrase', passphrase];
  home.gpg([...loopback, '--quick-gen-key', `Admin ${name} <${mail}>`, algo, usage, 'never']);
  const [fingerprint] = home.fingerprints();
  const armoredSecret = home
    .gpg([...loopback, '--export-secret-keys', '--armor', fingerprint as string])
    .toString();
  return { mail, home, fingerprint: fingerprint as string, passphrase, armoredSecret };
}

const loopback = (admin: Admin) => ['--pinentry-mode', 'loopback', '--passphrase', admin.passphrase];
const gpgDecrypt = (admin: Admin, bytes: Uint8Array) =>
  admin.home.gpg([...loopback(admin), '--decrypt'], bytes);

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(gnupg.skip)('OpenPGP with GnuPG 2.2 as Blackbox uses it', () => {
  let rsa: Admin;
  let curve: Admin;
  /** A home like a Blackbox data dir: both admins' public keys in its pubring.kbx. */
  let repo: GnupgHome;
  let keys: Key[];
  let rsaIdentity: Identity;
  let curveIdentity: Identity;

  beforeAll(async () => {
    rsa = makeAdmin('rsa', 'rsa3072', 'encr,sign');
    curve = makeAdmin('curve', 'future-default', 'default'); // ed25519 primary, cv25519 subkey on 2.2
    repo = newHome();
    for (const admin of [rsa, curve]) repo.gpg(['--import'], admin.home.gpg(['--export', admin.fingerprint]));
    const { readFileSync } = await import('node:fs');
    keys = await readPubring(new Uint8Array(readFileSync(`${repo.dir}/pubring.kbx`)), 'kbx', 'pubring.kbx');
    rsaIdentity = await loadIdentity(rsa.armoredSecret, rsa.passphrase);
    curveIdentity = await loadIdentity(curve.armoredSecret, curve.passphrase);
  }, 240_000);

  const keyOf = (admin: Admin) =>
    keys.find((k) => k.getFingerprint().toUpperCase() === admin.fingerprint) as Key;

  it('reads both admins from pubring.kbx and identities of both key types', () => {
    expect(keys.map((k) => k.getFingerprint().toUpperCase())).toEqual([rsa.fingerprint, curve.fingerprint]);
    expect(keys.map((k) => k.getAlgorithmInfo().algorithm)).toEqual(['rsaEncryptSign', 'eddsaLegacy']);
    expect(rsaIdentity.fingerprint).toBe(rsa.fingerprint);
    expect(curveIdentity.key.isDecrypted()).toBe(true);
  });

  it('what we encrypt to one or both admins, gpg --decrypt decrypts for each, and it is what gpg 2.2 writes', async () => {
    const plaintext = randomBytes(300);
    const both = await encryptToRecipients(plaintext, [keyOf(rsa), keyOf(curve)]);
    expect(gpgDecrypt(rsa, both).equals(plaintext)).toBe(true);
    expect(gpgDecrypt(curve, both).equals(plaintext)).toBe(true);
    for (const admin of [rsa, curve]) {
      const one = await encryptToRecipients(plaintext, [keyOf(admin)]);
      expect(gpgDecrypt(admin, one).equals(plaintext)).toBe(true);
    }
    expect((both[0] as number) & 0x80).toBeTruthy(); // binary, as Blackbox's .gpg files
    const packets = rsa.home.gpg([...loopback(rsa), '--list-packets'], both).toString();
    expect(packets.match(/:pubkey enc packet: version 3/g)).toHaveLength(2);
    expect(packets).toContain(':encrypted data packet:');
    expect(packets).toContain('mdc_method: 2'); // SEIPD v1 with MDC, not AEAD
    expect(packets).not.toMatch(/aead|compressed packet/i);
  }, 120_000);

  it('what gpg --encrypt -r a -r b writes for Blackbox, either identity decrypts; messageRecipients lists both', async () => {
    const plaintext = Buffer.from(`${randomBytes(32).toString('base64url')}=\n`);
    const file = repo.gpg(
      ['--trust-model', 'always', '--encrypt', '-r', rsa.mail, '-r', curve.mail],
      plaintext,
    );
    expect(rsa.home.gpg([...loopback(rsa), '--list-packets'], file).toString()).toContain(
      'compressed packet',
    );
    expect(Buffer.from(await decryptFile(file, rsaIdentity, 'keys/a.gpg')).equals(plaintext)).toBe(true);
    expect(Buffer.from(await decryptFile(file, curveIdentity, 'keys/a.gpg')).equals(plaintext)).toBe(true);
    // rsa3072 encr,sign encrypts with its primary key; the Curve25519 admin with its cv25519 subkey.
    const expected = await Promise.all(
      [rsa, curve].map(async (admin) =>
        (await keyOf(admin).getEncryptionKey()).getKeyID().toHex().toUpperCase(),
      ),
    );
    expect(expected[0]).toBe(rsa.fingerprint.slice(-16));
    expect((await messageRecipients(file, 'keys/a.gpg')).sort()).toEqual(expected.sort());
  }, 60_000);

  it('a wrong passphrase is AccessDenied naming the key; no passphrase for a protected key is ConfigError', async () => {
    const wrong = await errorOf(loadIdentity(rsa.armoredSecret, 'not it'));
    expect(isKeystoreError(wrong, 'AccessDenied')).toBe(true);
    expect(wrong.message).toBe(`blackbox: wrong passphrase for the identity ${rsa.fingerprint}`);
    expect(isKeystoreError(await errorOf(loadIdentity(curve.armoredSecret, undefined)), 'ConfigError')).toBe(
      true,
    );
    const publicOnly = rsa.home.gpg(['--export', '--armor', rsa.fingerprint]).toString();
    const notPrivate = await errorOf(loadIdentity(publicOnly, rsa.passphrase));
    expect(isKeystoreError(notPrivate, 'ConfigError')).toBe(true);
    expect(notPrivate.message).not.toContain('BEGIN PGP');
  }, 60_000);

  it('an identity not among the recipients is AccessDenied listing the recipients', async () => {
    const file = repo.gpg(['--trust-model', 'always', '--encrypt', '-r', rsa.mail], Buffer.from('x'));
    const [recipient] = await messageRecipients(file, 'keys/only-rsa.gpg');
    const error = await errorOf(decryptFile(file, curveIdentity, 'keys/only-rsa.gpg'));
    expect(isKeystoreError(error, 'AccessDenied')).toBe(true);
    expect(error.message).toContain('keys/only-rsa.gpg');
    expect(error.message).toContain(curve.fingerprint);
    expect(error.message).toContain(`recipients ${recipient}`);
  }, 60_000);

  it('a corrupted, truncated or foreign .gpg is Corrupted naming the file', async () => {
    const file = await encryptToRecipients(randomBytes(64), [keyOf(rsa), keyOf(curve)]);
    const flipped = file.slice();
    flipped[file.length - 30] = (flipped[file.length - 30] as number) ^ 0x01; // inside the encrypted data
    const broken = {
      flipped,
      truncated: file.subarray(0, file.length - 10),
      garbage: randomBytes(200),
      empty: new Uint8Array(),
      'not encrypted': repo.gpg(['--store'], Buffer.from('plain')),
    };
    for (const [name, bytes] of Object.entries(broken)) {
      const error = await errorOf(decryptFile(bytes, rsaIdentity, `keys/${name}.gpg`));
      expect(isKeystoreError(error, 'Corrupted'), `${name}: ${error.message}`).toBe(true);
      expect(error.message).toContain(`keys/${name}.gpg`);
    }
  }, 60_000);

  it('matchAdmins: e-mail admin lines as gpg -r reads them, and an admin with no key', async () => {
    const { matched, missing } = await matchAdmins(
      [rsa.mail, curve.mail.toUpperCase(), `nobody-${run}@example.com`, curve.fingerprint],
      keys,
    );
    expect(matched.map((m) => [m.admin, m.fingerprint])).toEqual([
      [rsa.mail, rsa.fingerprint],
      [curve.mail.toUpperCase(), curve.fingerprint],
      [curve.fingerprint, curve.fingerprint],
    ]);
    expect(missing).toEqual([`nobody-${run}@example.com`]);
  });
});

describe.skipIf(gnupg.skip)('matchAdmins picks the key gpg -r picks', () => {
  it('bare addresses match whole addresses (newest key first), <addr> the first key, other text substrings', async () => {
    const home = newHome();
    const names = [
      `Jimbob <jimbob-${run}@example.com>`,
      `Bob Two <Bob-${run}@Example.com>`,
      `Bob Newer <bob-${run}@example.com>`,
    ];
    for (const name of names) {
      generateKey(home, name, 'future-default', 'default');
      await new Promise((resolve) => setTimeout(resolve, 1100)); // creation times a second apart
    }
    const { readFileSync } = await import('node:fs');
    const keys = await readPubring(
      new Uint8Array(readFileSync(`${home.dir}/pubring.kbx`)),
      'kbx',
      'pubring.kbx',
    );
    const queries = [
      `bob-${run}@example.com`,
      `BOB-${run}@EXAMPLE.COM`,
      `<bob-${run}@example.com>`,
      `jimbob-${run}`,
      `b-${run}@exa`,
      'Bob',
      `@bob-${run}`,
      `=Bob Two <Bob-${run}@Example.com>`,
    ];
    const { matched, missing } = await matchAdmins(queries, keys);
    expect(missing).toEqual([]);
    for (const [index, query] of queries.entries()) {
      const gpgFile = home.gpg(['--trust-model', 'always', '--encrypt', '-r', query], Buffer.from('x'));
      const [gpgRecipient] = await messageRecipients(gpgFile, 'q.gpg');
      const ours = matched[index]?.key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase());
      expect(ours, query).toContain(gpgRecipient);
    }
  }, 120_000);
});
