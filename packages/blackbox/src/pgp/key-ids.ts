import type { Key, KeyID, Subkey } from 'openpgp';

/** A key id as gpg prints it (`--with-colons`, `--list-packets`): 16 upper-case hex digits. */
export function keyIdHex(id: KeyID): string {
  return id.toHex().toUpperCase();
}

/** A fingerprint as gpg prints it: upper-case hex, no spaces. */
export function fingerprintHex(key: Key | Subkey): string {
  return key.getFingerprint().toUpperCase();
}

/** What gpg writes for `--throw-keyids` (and OpenPGP.js for `wildcard`): a recipient not named. */
export const WILDCARD_KEY_ID = '0000000000000000';
