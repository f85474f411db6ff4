import { InvalidArgument } from '@keystore/core/provider';
import { type BlobPlace, keyboxCorrupted } from './keybox-corrupted.js';
import {
  BLOB_PREFIX_LENGTH,
  BLOB_TYPE,
  HEADER_MAGIC,
  HEADER_MAGIC_OFFSET,
  HEADER_MIN_LENGTH,
  HEADER_VERSION,
} from './keybox-format.js';
import { readOpenPgpBlob } from './read-openpgp-blob.js';

/** One OpenPGP key of a keybox. */
export interface KeyboxEntry {
  /**
   * The keyblock (the key's OpenPGP packets), as `openpgp.readKeys({ binaryKeys })` takes it: a
   * copy, so it does not keep the whole file alive nor change with it.
   */
  readonly keyblock: Uint8Array;
  /** The fingerprints the blob lists, upper-case hex: the primary key's first, then its subkeys'. */
  readonly fingerprints: readonly string[];
  /** Where the key's blob starts in the file. */
  readonly offset: number;
}

/**
 * Reads GnuPG's keybox (`pubring.kbx`, GnuPG 2.1 and newer), which OpenPGP.js cannot read:
 * the OpenPGP keys in file order. Deleted blobs, X.509 certificates (gpgsm's) and ephemeral keys
 * (which `gpg --list-keys` does not show either) are left out. Any malformed part of the file
 * (a bad header, a length or offset outside its blob or the file, a checksum mismatch) fails the
 * whole read with `Corrupted`, whose message names the problem and the offset.
 */
export function readKeybox(bytes: Uint8Array): KeyboxEntry[] {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgument('readKeybox: bytes must be a Uint8Array');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: KeyboxEntry[] = [];
  let offset = 0;
  for (let index = 0; offset < bytes.length || index === 0; index++) {
    const place: BlobPlace = { index, fileOffset: offset };
    const left = bytes.length - offset;
    if (left < BLOB_PREFIX_LENGTH) {
      throw keyboxCorrupted(`the file ends inside a blob's length and type (${left} bytes left)`, place);
    }
    const length = view.getUint32(offset);
    if (length < BLOB_PREFIX_LENGTH) throw keyboxCorrupted(`blob length ${length} is too short`, place, 0);
    if (length > left) {
      throw keyboxCorrupted(
        `blob length ${length} runs past the end of the file (${left} bytes left)`,
        place,
        0,
      );
    }
    const blob = bytes.subarray(offset, offset + length);
    const type = blob[4];
    if (index === 0) {
      checkHeader(blob, place);
    } else if (type === BLOB_TYPE.openpgp) {
      const key = readOpenPgpBlob(blob, place);
      if (!key.ephemeral)
        entries.push({ keyblock: key.keyblock.slice(), fingerprints: key.fingerprints, offset });
    } else if (type !== BLOB_TYPE.empty && type !== BLOB_TYPE.x509 && type !== BLOB_TYPE.header) {
      // A second header is harmless: GnuPG's own maintenance run drops it.
      throw keyboxCorrupted(`unknown blob type ${type}`, place, 4);
    }
    offset += length;
  }
  return entries;
}

function checkHeader(blob: Uint8Array, place: BlobPlace): void {
  if (blob[4] !== BLOB_TYPE.header) {
    throw keyboxCorrupted(`the first blob is of type ${blob[4]}, not the keybox header`, place, 4);
  }
  if (blob.length < HEADER_MIN_LENGTH) {
    throw keyboxCorrupted(`the header blob's length ${blob.length} is below ${HEADER_MIN_LENGTH}`, place, 0);
  }
  const magic = Buffer.from(blob.buffer, blob.byteOffset + HEADER_MAGIC_OFFSET, HEADER_MAGIC.length);
  if (magic.toString('latin1') !== HEADER_MAGIC) {
    throw keyboxCorrupted(`no '${HEADER_MAGIC}' magic in the header blob`, place, HEADER_MAGIC_OFFSET);
  }
  if (blob[5] !== HEADER_VERSION) {
    throw keyboxCorrupted(`unsupported keybox version ${blob[5]}`, place, 5);
  }
}
