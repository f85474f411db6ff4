import type { KeyObject } from 'node:crypto';
import { GCM_NONCE_LENGTH, GCM_TAG_LENGTH, openAesGcm, sealAesGcm } from '../../../crypto/aes-gcm.js';
import { decodeBase64Url } from '../../../encoding/base64url.js';

/**
 * Each key version's material in the file: AES-256-GCM under the file's
 * material key, with AAD = "keystore-file/v1" | u16 length | alias (UTF-8) | u32 version,
 * so material moved to another alias or version does not decrypt.
 * Stored as unpadded base64url of nonce (12) | ciphertext (32) | tag (16).
 */
const LABEL = Buffer.from('keystore-file/v1', 'utf8');

export function materialAad(keyId: string, version: number): Buffer {
  const alias = Buffer.from(keyId, 'utf8');
  const tail = Buffer.alloc(2 + alias.length + 4);
  tail.writeUInt16BE(alias.length, 0);
  alias.copy(tail, 2);
  tail.writeUInt32BE(version, 2 + alias.length);
  return Buffer.concat([LABEL, tail]);
}

export function sealMaterial(key: KeyObject, keyId: string, version: number, material: Uint8Array): string {
  return sealAesGcm(key, material, materialAad(keyId, version)).toString('base64url');
}

/** The material, or `undefined` when the sealed text does not decrypt (tampered, moved, other key). */
export function openMaterial(
  key: KeyObject,
  keyId: string,
  version: number,
  sealed: string,
): Uint8Array | undefined {
  const bytes = decodeBase64Url(sealed);
  if (bytes === undefined || bytes.length <= GCM_NONCE_LENGTH + GCM_TAG_LENGTH) return undefined;
  return openAesGcm(key, bytes, materialAad(keyId, version));
}
