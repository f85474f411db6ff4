import { decodeBase64UrlPadded } from '../../encoding/base64url.js';
import { tokenScratch } from '../../encoding/scratch.js';

/**
 * The Fernet token layout (https://github.com/fernet/spec):
 *
 *   version (1 byte, 0x80) | timestamp (8 bytes, big-endian seconds)
 *   | IV (16 bytes) | AES-128-CBC ciphertext (n * 16 bytes) | HMAC-SHA256 (32 bytes)
 *
 * The whole is base64url-encoded with padding, and only that spelling of it
 * decodes (no `+` or `/`, padding exactly as required, no stray bits): one
 * token, one string. Python's cryptography also refuses unpadded tokens.
 */
export const VERSION = 0x80;
export const TIMESTAMP_OFFSET = 1;
export const IV_OFFSET = 9;
export const CIPHERTEXT_OFFSET = 25;
export const HMAC_LENGTH = 32;
export const BLOCK = 16;
export const IV_LENGTH = 16;
/** Version, timestamp, IV, one block of ciphertext and the HMAC. */
export const MIN_TOKEN_LENGTH = CIPHERTEXT_OFFSET + BLOCK + HMAC_LENGTH;
/** Python's cryptography accepts tokens up to 60 seconds in the future when a TTL is given. */
export const MAX_CLOCK_SKEW = 60;

/**
 * The decoded bytes of a structurally valid token (right version, length and
 * block alignment), or `undefined`. Nothing here is authenticated yet. The
 * bytes live in the shared scratch buffer: use them before any other call.
 */
export function decodeToken(token: string | Uint8Array): Buffer | undefined {
  let text: string;
  if (typeof token === 'string') text = token;
  else if (token instanceof Uint8Array)
    text = Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('latin1');
  else return undefined;
  const raw = decodeBase64UrlPadded(text, tokenScratch);
  if (raw === undefined || raw.length < MIN_TOKEN_LENGTH || raw[0] !== VERSION) return undefined;
  if ((raw.length - CIPHERTEXT_OFFSET - HMAC_LENGTH) % BLOCK !== 0) return undefined;
  return raw;
}

/** The timestamp of a decoded token, in seconds since the epoch. */
export function readTimestamp(raw: Buffer): number {
  const high = raw.readUInt32BE(TIMESTAMP_OFFSET);
  const low = raw.readUInt32BE(TIMESTAMP_OFFSET + 4);
  // Beyond 2^53 seconds no clock can be: treat it as infinitely far in the future.
  if (high >= 0x200000) return Number.MAX_SAFE_INTEGER;
  return high * 0x1_0000_0000 + low;
}
