import { randomBytes } from 'node:crypto';
import { ConfigError, InvalidArgument } from '@keystore/core/provider';
import { createMessage, encrypt, enums, type Key } from 'openpgp';
import { fingerprintHex } from './key-ids.js';

/**
 * Settings for what we write, so that GnuPG 2.2 (Debian 12's, and what many Blackbox users run)
 * decrypts it, as it decrypts what `gpg --encrypt` writes for Blackbox:
 * - SEIPD version 1 (CFB with MDC) and version 3 PKESKs: OpenPGP.js picks SEIPDv2 (AEAD) as soon
 *   as every recipient key advertises it, which a key made by a newer tool may do while another
 *   admin still reads with gpg 2.2, which cannot. Handing OpenPGP.js a session key without an
 *   AEAD algorithm is the one way to rule it out, whatever the keys say.
 * - AES-256 session keys from node:crypto: every GnuPG since 1.x reads it, and it is the first
 *   preference of the keys gpg makes.
 * - No compression: a key file is a few hundred bytes, so compression saves nothing, and
 *   compressing secrets before encrypting them only adds a length side channel. gpg reads
 *   uncompressed data packets.
 * - Binary, not armored: Blackbox's `.gpg` files are binary (`gpg --encrypt -o file.gpg file`).
 */
const ENCRYPT_CONFIG = {
  preferredCompressionAlgorithm: enums.compression.uncompressed,
  aeadProtect: false,
} as const;
const SESSION_ALGORITHM = 'aes256';
const SESSION_KEY_LENGTH = 32;

/**
 * Encrypts `plaintext` to every key in `recipients` (each admin's public key) as a binary
 * OpenPGP message that `gpg --decrypt` decrypts with any of their secret keys.
 * @throws InvalidArgument without recipients; ConfigError for a key gpg 2.2 cannot use (not v4)
 *   or a key with no usable encryption subkey (expired, revoked), naming its fingerprint
 */
export async function encryptToRecipients(
  plaintext: Uint8Array,
  recipients: readonly Key[],
): Promise<Uint8Array> {
  if (recipients.length === 0) throw new InvalidArgument('blackbox: a file needs at least one recipient');
  for (const key of recipients) {
    const fingerprint = fingerprintHex(key);
    if (key.keyPacket.version !== 4) {
      throw new ConfigError(
        `blackbox: the admin key ${fingerprint} is a version ${key.keyPacket.version} key; GnuPG 2.2 reads version 4 keys only`,
      );
    }
    try {
      await key.getEncryptionKey();
    } catch {
      throw new ConfigError(
        `blackbox: the admin key ${fingerprint} has no usable encryption key (expired, revoked, or signing only)`,
      );
    }
  }
  const sessionKey = randomBytes(SESSION_KEY_LENGTH);
  try {
    const message = await createMessage({ binary: plaintext, format: 'binary' });
    return await encrypt({
      message,
      encryptionKeys: [...recipients],
      sessionKey: { data: sessionKey, algorithm: SESSION_ALGORITHM },
      format: 'binary',
      config: ENCRYPT_CONFIG,
    });
  } finally {
    sessionKey.fill(0);
  }
}
