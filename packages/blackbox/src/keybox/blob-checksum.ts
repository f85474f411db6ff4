import { createHash } from 'node:crypto';
import { CHECKSUM_LENGTH, LEGACY_MD5_LENGTH } from './keybox-format.js';

function digest(algorithm: 'sha1' | 'md5', data: Uint8Array): Buffer {
  return createHash(algorithm).update(data).digest();
}

/**
 * Whether the blob's trailing checksum matches, in any of the forms GnuPG has written (see
 * keybox-format.ts): SHA-1 up to the checksum, SHA-1 up to the keyblock's end, or the MD5 of
 * GnuPG before 2.1. The caller has checked that the blob holds the keyblock and 20 bytes after it.
 */
export function blobChecksumMatches(blob: Uint8Array, keyblockEnd: number): boolean {
  const checksumStart = blob.length - CHECKSUM_LENGTH;
  const stored = Buffer.from(blob.buffer, blob.byteOffset + checksumStart, CHECKSUM_LENGTH);
  if (digest('sha1', blob.subarray(0, checksumStart)).equals(stored)) return true;
  if (keyblockEnd < checksumStart && digest('sha1', blob.subarray(0, keyblockEnd)).equals(stored)) {
    return true;
  }
  const md5Start = blob.length - LEGACY_MD5_LENGTH;
  if (stored.readUInt32BE(0) !== 0) return false;
  try {
    return digest('md5', blob.subarray(0, md5Start)).equals(
      stored.subarray(CHECKSUM_LENGTH - LEGACY_MD5_LENGTH),
    );
  } catch {
    // MD5 is refused where OpenSSL runs in FIPS mode: such a blob is then one we cannot vouch for.
    return false;
  }
}
