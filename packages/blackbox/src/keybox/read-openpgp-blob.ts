import { blobChecksumMatches } from './blob-checksum.js';
import { BlobCursor } from './blob-cursor.js';
import { type BlobPlace, keyboxCorrupted } from './keybox-corrupted.js';
import {
  BLOB_FLAG_EPHEMERAL,
  BLOB_VERSIONS,
  type BlobVersionLayout,
  CHECKSUM_LENGTH,
  KEY_FLAG_FINGERPRINT_32,
  TRUST_AND_TIMES_LENGTH,
  USER_ID_MIN_SIZE,
  V2_KEY_FLAGS_OFFSET,
} from './keybox-format.js';

export interface OpenPgpBlob {
  /** A view of the blob's keyblock bytes. */
  readonly keyblock: Uint8Array;
  /** Upper-case hex, primary key first, as the blob lists them. */
  readonly fingerprints: string[];
  /** Kept by gpg only while it queries a key server or WKD; `gpg --list-keys` does not show it. */
  readonly ephemeral: boolean;
}

/**
 * Reads one OpenPGP blob (type 2): checks every count, size and offset of its key information
 * against the blob, that the keyblock lies after that information and before the checksum, and
 * the checksum itself.
 */
export function readOpenPgpBlob(blob: Uint8Array, place: BlobPlace): OpenPgpBlob {
  const cursor = new BlobCursor(blob, place, 5);
  const version = cursor.u8('blob version');
  const layout = BLOB_VERSIONS[version];
  if (!layout) throw keyboxCorrupted(`unsupported OpenPGP blob version ${version}`, place, 5);
  const flags = cursor.u16('blob flags');
  const keyblockOffset = cursor.u32('keyblock offset');
  const keyblockLength = cursor.u32('keyblock length');
  const fingerprints = readFingerprints(cursor, blob, layout, version, place);
  skipUserIds(cursor, blob, place);
  const signatureCount = cursor.u16('signature count');
  const signatureSize = cursor.u16('signature record size');
  cursor.skip(signatureCount * signatureSize, `${signatureCount} signature records`);
  cursor.skip(TRUST_AND_TIMES_LENGTH, 'trust and timestamps');
  const reserved = cursor.u32('reserved space size');
  cursor.skip(reserved, 'reserved space');

  const keyblockEnd = keyblockOffset + keyblockLength;
  if (keyblockLength === 0) throw keyboxCorrupted('the keyblock is empty', place, 12);
  if (keyblockOffset < cursor.position) {
    throw keyboxCorrupted(
      `keyblock offset ${keyblockOffset} lies inside the key information (which ends at ${cursor.position})`,
      place,
      8,
    );
  }
  if (keyblockEnd > blob.length - CHECKSUM_LENGTH) {
    throw keyboxCorrupted(
      `keyblock (offset ${keyblockOffset}, length ${keyblockLength}) runs past the checksum` +
        ` (blob length ${blob.length})`,
      place,
      8,
    );
  }
  if (!blobChecksumMatches(blob, keyblockEnd)) {
    throw keyboxCorrupted('checksum mismatch', place, blob.length - CHECKSUM_LENGTH);
  }
  return {
    keyblock: blob.subarray(keyblockOffset, keyblockEnd),
    fingerprints,
    ephemeral: (flags & BLOB_FLAG_EPHEMERAL) !== 0,
  };
}

function readFingerprints(
  cursor: BlobCursor,
  blob: Uint8Array,
  layout: BlobVersionLayout,
  version: number,
  place: BlobPlace,
): string[] {
  const count = cursor.u16('key count');
  const size = cursor.u16('key-info record size');
  if (count === 0) throw keyboxCorrupted('the blob lists no key', place, 16);
  if (size < layout.keyInfoMinSize) {
    throw keyboxCorrupted(
      `key-info record size ${size} is below ${layout.keyInfoMinSize} (blob version ${version})`,
      place,
      18,
    );
  }
  const fingerprints: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = cursor.position;
    const record = cursor.take(size, `key-info record ${i}`);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    let length = layout.fingerprintField;
    if (version === 1) {
      // The key id offset is 0 when unknown (X.509 only); GnuPG still writes it for old readers.
      const keyIdOffset = view.getUint32(20);
      if (keyIdOffset !== 0 && keyIdOffset > blob.length - 8) {
        throw keyboxCorrupted(
          `key id offset ${keyIdOffset} of key ${i} lies outside the blob`,
          place,
          at + 20,
        );
      }
    } else if ((view.getUint16(V2_KEY_FLAGS_OFFSET) & KEY_FLAG_FINGERPRINT_32) === 0) {
      length = 20;
    }
    fingerprints.push(Buffer.from(record.buffer, record.byteOffset, length).toString('hex').toUpperCase());
  }
  return fingerprints;
}

/** User ids are not needed here, but their offsets are checked like everything else. */
function skipUserIds(cursor: BlobCursor, blob: Uint8Array, place: BlobPlace): void {
  cursor.skip(cursor.u16('serial number length'), 'serial number');
  const count = cursor.u16('user id count');
  const size = cursor.u16('user id record size');
  if (count > 0 && size < USER_ID_MIN_SIZE) {
    throw keyboxCorrupted(
      `user id record size ${size} is below ${USER_ID_MIN_SIZE}`,
      place,
      cursor.position - 2,
    );
  }
  for (let i = 0; i < count; i++) {
    const at = cursor.position;
    const record = cursor.take(size, `user id record ${i}`);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const offset = view.getUint32(0);
    const length = view.getUint32(4);
    if (offset > blob.length || length > blob.length - offset) {
      throw keyboxCorrupted(
        `user id ${i} (offset ${offset}, length ${length}) runs past the end of the blob (length ${blob.length})`,
        place,
        at,
      );
    }
  }
}
