import { AccessDenied, Corrupted } from '@keystore/core/provider';
import { decrypt, type Message, readMessage } from 'openpgp';
import type { Identity } from './identity.js';
import { keyIdHex, WILDCARD_KEY_ID } from './key-ids.js';

/**
 * Decompressed files larger than this are refused: a key file is a few hundred bytes, and gpg
 * compresses what Blackbox encrypts, so a small corrupted or hostile file could inflate without end.
 */
const MAX_PLAINTEXT = 1024 * 1024;
const DECRYPT_CONFIG = { maxDecompressedMessageSize: MAX_PLAINTEXT } as const;

/**
 * The key ids a binary message is encrypted to, as `gpg --list-packets` shows them (16 upper-case
 * hex digits; `0000000000000000` for a recipient hidden with `--throw-keyids`), in packet order.
 * @throws Corrupted naming `file` when the bytes are no OpenPGP message
 */
export async function messageRecipients(bytes: Uint8Array, file: string): Promise<string[]> {
  const recipients = recipientsOf(await parse(bytes, file));
  // As for decryptFile: bytes that parse but name no recipient (random bytes may) are no Blackbox file.
  if (recipients.length === 0) throw notEncrypted(file);
  return recipients;
}

function notEncrypted(file: string): Corrupted {
  return new Corrupted(`blackbox: ${file} is corrupted: it is not encrypted to any public key`);
}

/**
 * Decrypts a `.gpg` file (binary, as gpg writes it for Blackbox, or as `encryptToRecipients`
 * writes it) with the identity's key: the plaintext bytes, checked in full (MDC or AEAD tag)
 * before they are returned.
 * @throws AccessDenied when the identity is not among the file's recipients (the message lists
 *   theirs); Corrupted when the file does not parse, fails its integrity check or is unprotected
 */
export async function decryptFile(bytes: Uint8Array, identity: Identity, file: string): Promise<Uint8Array> {
  const message = await parse(bytes, file);
  const recipients = recipientsOf(message);
  // Blackbox files are always encrypted to admins: no public-key recipient is not a Blackbox file.
  if (recipients.length === 0) throw notEncrypted(file);
  const ours = new Set(identity.keyIds);
  const named = recipients.some((id) => ours.has(id));
  const hidden = recipients.includes(WILDCARD_KEY_ID);
  if (!named && !hidden) throw notRecipient(file, identity, recipients);
  try {
    const { data } = await decrypt({
      message,
      decryptionKeys: identity.key,
      format: 'binary',
      config: DECRYPT_CONFIG,
    });
    return data;
  } catch {
    // With only hidden recipients, failing to open any session key means the key was not one of them.
    if (!named) throw notRecipient(file, identity, recipients);
    // OpenPGP.js's messages are not passed on: they describe packets, and the cause would carry them.
    throw new Corrupted(`blackbox: ${file} is corrupted: it does not decrypt or fails its integrity check`);
  }
}

async function parse(bytes: Uint8Array, file: string): Promise<Message<Uint8Array>> {
  try {
    return await readMessage({ binaryMessage: bytes });
  } catch {
    throw new Corrupted(`blackbox: ${file} is corrupted: it is not a binary OpenPGP message`);
  }
}

function recipientsOf(message: Message<Uint8Array>): string[] {
  return message.getEncryptionKeyIDs().map(keyIdHex);
}

function notRecipient(file: string, identity: Identity, recipients: readonly string[]): AccessDenied {
  return new AccessDenied(
    `blackbox: the identity ${identity.fingerprint} is not among the recipients of ${file} (recipients ${recipients.join(', ')}); an admin must re-encrypt it (blackbox_update_all_files)`,
  );
}
