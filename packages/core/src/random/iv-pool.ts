import { randomFillSync } from 'node:crypto';

/**
 * Random IVs drawn from a pool filled by OpenSSL's CSPRNG 4 KiB at a time:
 * one `randomBytes(16)` call costs more than a small Fernet encryption.
 * IVs are public once used; each slice of the pool is handed out once.
 * The returned view is valid until the next call (callers copy it at once).
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

export function nextIv(length = 16): Buffer {
  if (offset + length > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const iv = pool.subarray(offset, offset + length);
  offset += length;
  return iv;
}
