import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { canonicalBytes, type EncryptionContext } from '../context/encryption-context.js';
import { GCM_NONCE_LENGTH, GCM_TAG_LENGTH, openAesGcm, sealAesGcm } from '../crypto/aes-gcm.js';
import { InvalidToken } from '../errors/invalid-token.js';

/**
 * How material stores wrap a data key under master key material they hold
 * (docs/envelope-format.md, "Local wrap"):
 *
 *   wrapping key = HKDF-SHA256(ikm = material, salt = empty, info = "keystore/v1 local-wrap", 32 bytes)
 *   aad          = "keystore/v1" | u8 len | provider type | u16 len | key id | u32 version | canonical context
 *   wrapped      = 0x01 | nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)
 *
 * The AAD binds the wrap to its provider type, key id, version and context:
 * a wrapped key moved to another key, version or context does not unwrap.
 */
const FORMAT = 0x01;
const INFO = Buffer.from('keystore/v1 local-wrap', 'utf8');
const AAD_LABEL = Buffer.from('keystore/v1', 'utf8');

/** Derives the AES-256-GCM wrapping key from 32 bytes of master material; done once per key version. */
export function deriveWrappingKey(material: Uint8Array): KeyObject {
  const derived = new Uint8Array(hkdfSync('sha256', material, Buffer.alloc(0), INFO, 32));
  try {
    return createSecretKey(derived);
  } finally {
    derived.fill(0);
  }
}

export interface WrapBinding {
  readonly providerType: string;
  readonly keyId: string;
  readonly version: number;
  readonly context: EncryptionContext;
}

export function wrapAad(binding: WrapBinding): Buffer {
  const context = canonicalBytes(binding.context);
  const typeLength = Buffer.byteLength(binding.providerType, 'utf8');
  const keyIdLength = Buffer.byteLength(binding.keyId, 'utf8');
  const out = Buffer.allocUnsafe(AAD_LABEL.length + 1 + typeLength + 2 + keyIdLength + 4 + context.length);
  let o = AAD_LABEL.copy(out, 0);
  o = out.writeUInt8(typeLength, o);
  o += out.write(binding.providerType, o, 'utf8');
  o = out.writeUInt16BE(keyIdLength, o);
  o += out.write(binding.keyId, o, 'utf8');
  o = out.writeUInt32BE(binding.version, o);
  context.copy(out, o);
  return out;
}

export function localWrap(wrappingKey: KeyObject, plaintext: Uint8Array, binding: WrapBinding): Uint8Array {
  return Buffer.concat([Buffer.of(FORMAT), sealAesGcm(wrappingKey, plaintext, wrapAad(binding))]);
}

/** @throws InvalidToken whatever is wrong (tampered, other key, other version, other context). */
export function localUnwrap(wrappingKey: KeyObject, wrapped: Uint8Array, binding: WrapBinding): Uint8Array {
  if (wrapped.length < 1 + GCM_NONCE_LENGTH + GCM_TAG_LENGTH + 1 || wrapped[0] !== FORMAT) {
    throw new InvalidToken();
  }
  const plaintext = openAesGcm(wrappingKey, wrapped.subarray(1), wrapAad(binding));
  if (plaintext === undefined) throw new InvalidToken();
  return plaintext;
}
