import { AccessDenied, ConfigError } from '@keystore/core/provider';
import { decryptKey, type PrivateKey, readPrivateKey } from 'openpgp';
import { fingerprintHex, keyIdHex } from './key-ids.js';

/**
 * The private key a Blackbox repository is read with: one admin's key, exported from GnuPG's
 * agent with `gpg --export-secret-keys --armor` (GnuPG 2.1+ keeps no secret keyring to read).
 * Decrypted once, when the identity is loaded: each S2K derivation costs tens of milliseconds,
 * too much to pay per file.
 */
export interface Identity {
  /** The decrypted key, for `decryptKeyFile`. */
  readonly key: PrivateKey;
  /** The primary key's fingerprint, upper-case hex: what messages name the identity by. */
  readonly fingerprint: string;
  /** The key ids of the primary key and every subkey, as gpg lists a message's recipients. */
  readonly keyIds: readonly string[];
}

/**
 * Reads and unlocks an armored private key.
 * @throws ConfigError when the text is no readable private key (the message never quotes it),
 *   or the key is protected and no passphrase was given; AccessDenied for a wrong passphrase
 */
export async function loadIdentity(armored: string, passphrase: string | undefined): Promise<Identity> {
  let key: PrivateKey;
  try {
    key = await readPrivateKey({ armoredKey: armored });
  } catch (cause) {
    // OpenPGP.js's message can quote the text it failed on; only its class goes on, as the cause.
    throw new ConfigError(
      'blackbox: the identity is not an armored OpenPGP private key (export it with gpg --export-secret-keys --armor)',
      { cause: stripMessage(cause) },
    );
  }
  const fingerprint = fingerprintHex(key);
  if (!key.isDecrypted()) {
    if (passphrase === undefined) {
      throw new ConfigError(
        `blackbox: the identity ${fingerprint} is protected by a passphrase and none is configured`,
      );
    }
    try {
      key = await decryptKey({ privateKey: key, passphrase });
    } catch {
      // OpenPGP.js says 'Incorrect key passphrase' for a wrong one; a damaged secret part fails the same
      // check (its checksum), and gpg cannot tell the two apart either.
      throw new AccessDenied(`blackbox: wrong passphrase for the identity ${fingerprint}`);
    }
  }
  return { key, fingerprint, keyIds: key.getKeyIDs().map(keyIdHex) };
}

/** Keeps the error's class for debugging, without a message that may quote key text. */
function stripMessage(cause: unknown): Error {
  return new Error(cause instanceof Error ? `${cause.name} from openpgp` : 'openpgp error');
}
