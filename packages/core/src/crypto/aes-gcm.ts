import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { nextIv } from '../random/iv-pool.js';

/**
 * AES-256-GCM with a 12-byte nonce and a 16-byte tag, sealed as
 * nonce | ciphertext | tag: the one seal and open behind the local wrap of
 * data keys (provider/local-wrap.ts) and the file provider's key material
 * (providers/file/format/material.ts). Each caller frames it (a format byte,
 * base64url) and makes its own AAD.
 *
 * Nonces are random, drawn from the IV pool (random/iv-pool.ts), which is
 * safe for GCM, where a repeated nonce under one key is fatal: the pool is
 * filled by OpenSSL's CSPRNG (randomFillSync) and every slice of it is handed
 * out once (the offset only moves forward, and the pool is refilled with
 * fresh CSPRNG bytes before it runs out), synchronously, so no two calls
 * share bytes; each process and worker thread has its own pool, filled from
 * the CSPRNG independently. A pooled nonce is thus exactly as random as one
 * from randomBytes (the usual 2^32-messages-per-key bound for random 96-bit
 * nonces applies to both) and costs far less. The nonce is copied out of the
 * pool at once, as the pool requires.
 */
export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;

export function sealAesGcm(key: KeyObject, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = Buffer.from(nextIv(GCM_NONCE_LENGTH));
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** The plaintext, or `undefined` whatever is wrong (too short, tampered, other key, other AAD). */
export function openAesGcm(key: KeyObject, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < GCM_NONCE_LENGTH + GCM_TAG_LENGTH) return undefined;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, GCM_NONCE_LENGTH), {
      authTagLength: GCM_TAG_LENGTH,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.length - GCM_TAG_LENGTH));
    const out = decipher.update(buf.subarray(GCM_NONCE_LENGTH, buf.length - GCM_TAG_LENGTH));
    decipher.final();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch {
    return undefined;
  }
}
