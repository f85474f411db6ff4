import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { decodeBase64Url } from '../../../encoding/base64url.js';

/**
 * Each key version's material in the file: AES-256-GCM under the file's
 * material key, with AAD = "keystore-file/v1" | u16 length | alias (UTF-8) | u32 version,
 * so material moved to another alias or version does not decrypt.
 * Stored as unpadded base64url of nonce (12) | ciphertext (32) | tag (16).
 */
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
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
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(materialAad(keyId, version));
  const body = cipher.update(material);
  cipher.final();
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
}

/** The material, or `undefined` when the sealed text does not decrypt (tampered, moved, other key). */
export function openMaterial(
  key: KeyObject,
  keyId: string,
  version: number,
  sealed: string,
): Uint8Array | undefined {
  const bytes = decodeBase64Url(sealed);
  if (bytes === undefined || bytes.length <= NONCE_LENGTH + TAG_LENGTH) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_LENGTH), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(materialAad(keyId, version));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    const out = decipher.update(bytes.subarray(NONCE_LENGTH, bytes.length - TAG_LENGTH));
    decipher.final();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch {
    return undefined;
  }
}
