/**
 * Reusable buffers for bytes that are not secret (a token's version,
 * timestamp, IV, ciphertext and MAC, or its base64 text), so that encoding
 * and decoding a 1 MiB token does not allocate, and later garbage-collect, a
 * fresh megabyte each time. Plaintext and keys never go into one.
 *
 * Safe because every user is synchronous: a view returned by a scratch area
 * is used up before the caller returns, and the next call may overwrite it.
 */
const RETAIN_LIMIT = 8 * 1024 * 1024;

export type Scratch = (size: number) => Buffer;

/** A scratch area: `area(size)` is a buffer of at least `size` bytes, valid until the next call. */
export function createScratch(initialSize = 64 * 1024): Scratch {
  let shared = Buffer.allocUnsafeSlow(initialSize);
  return (size: number): Buffer => {
    if (size <= shared.length) return shared;
    if (size > RETAIN_LIMIT) return Buffer.allocUnsafeSlow(size);
    shared = Buffer.allocUnsafeSlow(Math.min(RETAIN_LIMIT, Math.max(size, shared.length * 2)));
    return shared;
  };
}

/** Where tokens' bytes are assembled and decoded. */
export const tokenScratch: Scratch = createScratch();
