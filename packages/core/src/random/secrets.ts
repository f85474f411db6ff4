import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Default entropy for tokens: 32 bytes (256 bits), as Python's `secrets` uses. */
export const DEFAULT_TOKEN_BYTES = 32;

export type TokenEncoding = 'hex' | 'base64url';

function checkSize(nbytes: number): void {
  if (!Number.isSafeInteger(nbytes) || nbytes < 1 || nbytes > 65_536) {
    throw new RangeError('nbytes must be an integer between 1 and 65536');
  }
}

/** `nbytes` cryptographically secure random bytes (OpenSSL's CSPRNG). */
export function tokenBytes(nbytes: number = DEFAULT_TOKEN_BYTES): Uint8Array {
  checkSize(nbytes);
  return new Uint8Array(randomBytes(nbytes));
}

/** A random token of `nbytes` bytes, as lowercase hex (2 characters a byte). */
export function tokenHex(nbytes: number = DEFAULT_TOKEN_BYTES): string {
  checkSize(nbytes);
  return randomBytes(nbytes).toString('hex');
}

/** A random token of `nbytes` bytes, as unpadded base64url (URL- and file-name-safe). */
export function tokenUrlsafe(nbytes: number = DEFAULT_TOKEN_BYTES): string {
  checkSize(nbytes);
  return randomBytes(nbytes).toString('base64url');
}

/** A random token of `nbytes` bytes in the given encoding (base64url by default). */
export function randomToken(
  nbytes: number = DEFAULT_TOKEN_BYTES,
  encoding: TokenEncoding = 'base64url',
): string {
  if (encoding === 'hex') return tokenHex(nbytes);
  if (encoding === 'base64url') return tokenUrlsafe(nbytes);
  throw new TypeError("encoding must be 'hex' or 'base64url'");
}

/**
 * Compares two secrets in time that depends only on their lengths, like
 * Python's `secrets.compare_digest`. Strings are compared as UTF-8.
 */
export function compareDigest(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (x.byteLength !== y.byteLength) {
    // Still spend the time of one comparison so the length mismatch is not faster.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
