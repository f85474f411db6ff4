import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKeystoreError } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { createMessage, encrypt, type Key, readKeys } from 'openpgp';
import { afterEach, describe, expect, it } from 'vitest';
import { readKeybox } from '../src/index.js';
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
afterEach(() => {
  for (const home of homes.splice(0)) home.remove();
});

const fingerprintsOf = (key: Key) => [
  key.getFingerprint(),
  ...key.getSubkeys().map((s) => s.getFingerprint()),
];

/** Encrypts with OpenPGP.js alone and has gpg decrypt: only a whole keyblock gets this far. */
async function roundTrip(key: Key, home: GnupgHome): Promise<void> {
  const text = `for ${key.getUserIDs()[0]} ${randomBytes(8).toString('hex')}`;
  const armored = await encrypt({ message: await createMessage({ text }), encryptionKeys: key });
  expect(home.gpg(['--decrypt'], armored).toString('utf8')).toBe(text);
}

/** The type byte of every blob, walking only the length fields: to see what the scenario made. */
function blobTypes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: number[] = [];
  for (let at = 0; at < bytes.length; at += view.getUint32(at)) types.push(bytes[at + 4] ?? -1);
  return types;
}

describe.skipIf(gnupg.skip)('readKeybox on keyboxes GnuPG writes', () => {
  it('reads RSA, Curve25519 and imported keys, skips a deleted one, and OpenPGP.js encrypts to them for gpg', async () => {
    const home = newHome();
    const other = newHome();
    const rsa = generateKey(home, `Admin One <one-${run}@example.com>`, 'rsa3072', 'encr,sign');
    const curve = generateKey(home, `Admin Two <two-${run}@example.com>`, 'future-default', 'default');
    const imported = generateKey(
      other,
      `Admin Three <three-${run}@example.com>`,
      'future-default',
      'default',
    );
    const leaver = generateKey(other, `Leaver <leaver-${run}@example.com>`, 'ed25519', 'sign');
    home.gpg(['--import'], other.gpg(['--export', imported, leaver]));
    home.gpg(['--delete-keys', leaver]);

    const bytes = new Uint8Array(readFileSync(join(home.dir, 'pubring.kbx')));
    expect(blobTypes(bytes)).toEqual([1, 2, 2, 2, 0]); // the deleted key's blob stays, as type 0
    const entries = readKeybox(bytes);

    expect(entries.flatMap((entry) => entry.fingerprints)).toEqual(home.fingerprints());
    expect(entries.map((entry) => entry.fingerprints[0])).toEqual([rsa, curve, imported]);
    const keys: Key[] = [];
    for (const entry of entries) {
      const parsed = await readKeys({ binaryKeys: entry.keyblock });
      expect(parsed).toHaveLength(1);
      const key = parsed[0] as Key;
      expect(fingerprintsOf(key).map((f) => f.toUpperCase())).toEqual(entry.fingerprints);
      keys.push(key);
    }
    expect(keys.map((key) => key.getAlgorithmInfo().algorithm)).toEqual([
      'rsaEncryptSign',
      'eddsaLegacy',
      'eddsaLegacy',
    ]);

    await roundTrip(keys[0] as Key, home);
    await roundTrip(keys[1] as Key, home);
    await roundTrip(keys[2] as Key, other);
  }, 180_000);

  it('reads a keybox after gpg rewrote it: a new user id and a new subkey', async () => {
    const home = newHome();
    const fpr = generateKey(home, `Admin Four <four-${run}@example.com>`, 'future-default', 'default');
    home.gpg(['--quick-add-uid', fpr, `Admin Four (work) <four-work-${run}@example.com>`]);
    home.gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-add-key',
      fpr,
      'cv25519',
      'encr',
      'never',
    ]);
    const bytes = new Uint8Array(readFileSync(join(home.dir, 'pubring.kbx')));
    expect(blobTypes(bytes)).toEqual([1, 2]); // gpg rewrote the key's blob rather than adding one
    const entries = readKeybox(bytes);
    expect(entries.flatMap((entry) => entry.fingerprints)).toEqual(home.fingerprints());
    expect(entries.at(-1)?.fingerprints).toHaveLength(3);
    const [key] = await readKeys({ binaryKeys: entries.at(-1)?.keyblock ?? new Uint8Array() });
    expect(key?.getUserIDs()).toHaveLength(2);
    await roundTrip(key as Key, home);
  }, 120_000);
});

describe.skipIf(gnupg.skip)('the legacy pubring.gpg', () => {
  it('needs no reader: OpenPGP.js reads the keyring gpg writes with --keyring, and readKeybox refuses it', async () => {
    const home = newHome();
    const a = generateKey(home, `Legacy A <legacy-a-${run}@example.com>`, 'future-default', 'default');
    const b = generateKey(home, `Legacy B <legacy-b-${run}@example.com>`, 'rsa3072', 'encr,sign');
    const legacy = join(home.dir, 'legacy-pubring.gpg');
    // gnupg-ring: makes gpg 2.2 create the old format; a new file it would make a keybox, whatever its name.
    const keyring = ['--no-default-keyring', '--keyring', `gnupg-ring:${legacy}`];
    home.gpg([...keyring, '--import'], home.gpg(['--export', a, b]));

    const bytes = new Uint8Array(readFileSync(legacy));
    expect(bytes[0] && bytes[0] & 0x80).toBeTruthy(); // an OpenPGP packet header, not a keybox blob
    const keys = await readKeys({ binaryKeys: bytes });
    expect(keys.flatMap(fingerprintsOf).map((f) => f.toUpperCase())).toEqual(home.fingerprints(keyring));
    expect(keys.map((key) => key.getFingerprint().toUpperCase())).toEqual([a, b]);
    await roundTrip(keys[1] as Key, home);

    let error: unknown;
    try {
      readKeybox(bytes);
    } catch (caught) {
      error = caught;
    }
    expect(isKeystoreError(error, 'Corrupted')).toBe(true);
  }, 180_000);
});
