/**
 * RSA-OAEP parameters shared by the Node cipher and the browser encryptor.
 * No `node:` imports here: `web-encryptor.ts` uses this file too.
 */
import { InvalidArgument } from '../../errors/keystore-error.js';

/** The OAEP hash, also used for MGF1 (OpenSSL's and WebCrypto's convention). */
export type RsaOaepHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

interface HashInfo {
  /** Digest length in bytes (hLen in RFC 8017). */
  readonly length: number;
  /** The WebCrypto name of the hash. */
  readonly webCrypto: string;
  /** The JOSE `alg` of RSA-OAEP with this hash (RFC 7518 section 4.3, and WebCrypto's JWK names). */
  readonly jwkAlg: string;
}

const HASHES: Readonly<Record<RsaOaepHash, HashInfo>> = {
  sha1: { length: 20, webCrypto: 'SHA-1', jwkAlg: 'RSA-OAEP' },
  sha256: { length: 32, webCrypto: 'SHA-256', jwkAlg: 'RSA-OAEP-256' },
  sha384: { length: 48, webCrypto: 'SHA-384', jwkAlg: 'RSA-OAEP-384' },
  sha512: { length: 64, webCrypto: 'SHA-512', jwkAlg: 'RSA-OAEP-512' },
};

export const DEFAULT_HASH: RsaOaepHash = 'sha256';
export const MIN_MODULUS_BITS = 2048;
export const MAX_MODULUS_BITS = 4096;
export const DEFAULT_MODULUS_BITS = 2048;

/** The hash's parameters; throws InvalidArgument for anything but the four supported names. */
export function hashInfo(hash: unknown = DEFAULT_HASH): HashInfo & { readonly name: RsaOaepHash } {
  if (typeof hash === 'string' && Object.hasOwn(HASHES, hash)) {
    const name = hash as RsaOaepHash;
    return { name, ...HASHES[name] };
  }
  throw new InvalidArgument("hash must be one of 'sha1', 'sha256', 'sha384', 'sha512'");
}

/** Whether `bits` is a modulus length this library accepts (2048 to 4096 bits). */
export function isSupportedModulus(bits: unknown): bits is number {
  return (
    Number.isSafeInteger(bits) && (bits as number) >= MIN_MODULUS_BITS && (bits as number) <= MAX_MODULUS_BITS
  );
}

/** k in RFC 8017: the modulus length in bytes, which is also the length of every OAEP ciphertext. */
export function modulusBytes(bits: number): number {
  return Math.ceil(bits / 8);
}

/** The largest message one OAEP block holds: k - 2 * hLen - 2 bytes (RFC 8017 section 7.1.1). */
export function maxOaepPayload(modulusBits: number, hashLength: number): number {
  return modulusBytes(modulusBits) - 2 * hashLength - 2;
}

/** Labels are bytes; a string label is its UTF-8 encoding. */
export function labelBytes(label: string | Uint8Array | undefined): Uint8Array {
  if (label === undefined) return new Uint8Array(0);
  if (typeof label === 'string') return new TextEncoder().encode(label);
  if (label instanceof Uint8Array) return label.slice();
  throw new InvalidArgument('label must be a string or a Uint8Array');
}

/**
 * Whether a public exponent is usable: odd and at least 3. OpenSSL encrypts
 * under e = 1 without complaint, which would leave the padded message in clear.
 */
export function isAcceptableExponent(e: bigint): boolean {
  return e >= 3n && (e & 1n) === 1n;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a JWK's modulus `n` (base64url, big-endian) is certainly even. An
 * RSA modulus is a product of two odd primes; OpenSSL and WebCrypto import
 * an even one without complaint and fail only at encrypt, with their own
 * errors. Reads the low bit of the last byte from the last character:
 * anything unreadable is left to the key parser.
 */
export function hasEvenModulus(n: unknown): boolean {
  if (typeof n !== 'string') return false;
  const text = n.replace(/=+$/, '');
  const value = BASE64URL.indexOf(text.charAt(text.length - 1));
  if (value < 0) return false;
  // 4 characters hold 3 bytes: the last character's bit 0 is the last byte's bit 0;
  // 3 characters hold 2 bytes (bit 2), 2 characters hold 1 byte (bit 4).
  const bit = [0, -1, 4, 2][text.length % 4] ?? -1;
  return bit >= 0 && ((value >> bit) & 1) === 0;
}
