import { InvalidArgument } from '../../errors/keystore-error.js';
/**
 * The RSA-OAEP ciphertext formats. No `node:` imports: the browser encryptor
 * uses this file too. README.md next to this file says the same for readers
 * in other languages.
 *
 * Let k be the modulus length in bytes (256, 384 or 512 for 2048, 3072 and
 * 4096-bit keys), H the OAEP hash (MGF1 uses the same hash) and L the label
 * (empty unless configured).
 *
 * Raw: exactly k bytes, RSAES-OAEP-ENCRYPT(publicKey, message, H, L) from
 * RFC 8017, as OpenSSL, WebCrypto and every OAEP library produce it. Used for
 * messages of at most k - 2 * hLen - 2 bytes (190 for 2048-bit SHA-256).
 *
 * Hybrid: used for longer messages (or for all, with `hybrid: 'always'`).
 *
 *   offset   length  field
 *   0        1       version, 0x01
 *   1        k       wrapped key: RSAES-OAEP-ENCRYPT(publicKey, DEK, H, L)
 *                    where DEK is a fresh random 32-byte AES-256 key
 *   1+k      12      nonce, random
 *   13+k     n       AES-256-GCM ciphertext of the n-byte message under DEK
 *   13+k+n   16      GCM tag (128 bits)
 *
 *   The GCM additional authenticated data is bytes [0, 1+k): the version
 *   byte followed by the wrapped key. Total length: k + 29 + n.
 *
 * A reader tells the two apart by length alone: exactly k bytes is raw; at
 * least k + 29 bytes starting with 0x01 is hybrid; anything else is invalid.
 * The unwrapped DEK must be exactly 32 bytes.
 */

export const HYBRID_VERSION = 0x01;
export const DEK_LENGTH = 32;
export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;

/** Offsets of the hybrid fields for a k-byte modulus. */
export function hybridLayout(k: number): { wrappedKey: number; nonce: number; body: number } {
  return { wrappedKey: 1, nonce: 1 + k, body: 1 + k + NONCE_LENGTH };
}

/** The length of a hybrid ciphertext of an n-byte message under a k-byte modulus. */
export function hybridLength(k: number, n: number): number {
  return 1 + k + NONCE_LENGTH + n + TAG_LENGTH;
}

export type CiphertextKind = 'raw' | 'hybrid';

/** Which format `ciphertext` claims to be, or `undefined` when it is neither. Nothing is authenticated yet. */
export function classify(ciphertext: Uint8Array, k: number): CiphertextKind | undefined {
  if (ciphertext.length === k) return 'raw';
  if (ciphertext.length >= hybridLength(k, 0) && ciphertext[0] === HYBRID_VERSION) return 'hybrid';
  return undefined;
}

/** How `encrypt` picks the format: hybrid only when the message does not fit one OAEP block, or always. */
export type HybridMode = 'auto' | 'always';

export function checkHybridMode(mode: unknown = 'auto'): HybridMode {
  if (mode === 'auto' || mode === 'always') return mode;
  throw new InvalidArgument("hybrid must be 'auto' or 'always'");
}
