import { randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgument } from '../errors/keystore-error.js';

/** Default entropy for tokens: 32 bytes (256 bits), as Python's `secrets` uses. */
export const DEFAULT_TOKEN_BYTES = 32;

export type TokenEncoding = 'hex' | 'base64url';

function checkSize(nbytes: number): void {
  if (!Number.isSafeInteger(nbytes) || nbytes < 1 || nbytes > 65_536) {
    throw new InvalidArgument('nbytes must be an integer between 1 and 65536');
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
  throw new InvalidArgument("encoding must be 'hex' or 'base64url'");
}

const NON_ASCII = /[\u0080-\uffff]/;

function digestBytes(value: string | Uint8Array): Uint8Array {
  if (typeof value !== 'string') return value;
  // As Python's compare_digest (a TypeError there): through UTF-8, two different strings with
  // lone surrogates both become U+FFFD and would compare equal; ASCII strings are their bytes.
  if (NON_ASCII.test(value)) throw new InvalidArgument('compareDigest compares ASCII strings or bytes only');
  return Buffer.from(value, 'latin1');
}

/**
 * Compares two secrets in time that depends only on their lengths, like
 * Python's `secrets.compare_digest`. Strings must be ASCII (compared as
 * their bytes); any other string is `InvalidArgument`, as in Python.
 */
export function compareDigest(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = digestBytes(a);
  const y = digestBytes(b);
  if (x.byteLength !== y.byteLength) {
    // Still spend the time of one comparison so the length mismatch is not faster.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
