/**
 * GnuPG's keybox format (`pubring.kbx`, GnuPG 2.1 and newer), as its own documentation states it:
 * the comment at the top of kbx/keybox-blob.c, and what kbx/keybox-file.c, keybox-dump.c and
 * keybox-update.c do (GnuPG master, October 2025; the layout is unchanged since 2.1).
 *
 * A file is a sequence of blobs, each starting with `u32 length` (including those four bytes)
 * and `byte type`. Integers are big-endian; offsets count from the start of their blob.
 *
 * The first blob is the header: length 32, type 1, version 1, u16 flags, magic "KBXf" at
 * offset 8, then RFU and two timestamps.
 *
 * An OpenPGP (type 2) or X.509 (type 3) blob:
 *
 *   0  u32 length         4  byte type         5  byte version (1: 20-byte fingerprints,
 *   6  u16 blob flags     8  u32 keyblock offset                  2: 32-byte fingerprints)
 *  12  u32 keyblock length
 *  16  u16 number of keys (at least 1)   18  u16 size of one key-info record
 *  20  the key-info records: v1 b20 fingerprint, u32 key-id offset, u16 flags, u16 RFU (28);
 *      v2 b32 fingerprint (a 20-byte one right-filled with zeroes; key flag bit 7 marks
 *      32 bytes), u16 flags, u16 RFU, b20 keygrip (56); a larger record size means filler
 *      then u16 serial length + serial, u16 number of user ids, u16 user-id record size and
 *      the records (u32 offset, u32 length, ...), u16 number of signatures, u16 signature
 *      record size and the records, 16 bytes of trust and timestamps, u32 reserved size and
 *      the reserved bytes; then free space, the keyblock, RFU, and the checksum.
 *
 * The checksum is the blob's last 20 bytes: SHA-1 over the blob up to the checksum (what
 * create_blob_finish writes; keybox-dump.c and the layout comment leave RFU after the keyblock
 * out, so both readings are accepted). GnuPG before 2.1 wrote 64 bytes there: zeroes, then an
 * MD5 over everything before its 16 bytes; it "was only created but never checked", and the
 * layout comment says to try MD5 when SHA-1 fails and the first 4 of the 20 bytes are zero.
 * GnuPG itself never checks the checksum when it reads.
 */

export const BLOB_TYPE = {
  empty: 0,
  header: 1,
  openpgp: 2,
  x509: 3,
} as const;

export const HEADER_MAGIC = 'KBXf';
export const HEADER_MAGIC_OFFSET = 8;
export const HEADER_VERSION = 1;
/** What GnuPG writes and keybox-dump.c requires of the header blob. */
export const HEADER_MIN_LENGTH = 32;

/** Length and type: what every blob, even an empty one, must hold. */
export const BLOB_PREFIX_LENGTH = 5;

/** The fixed fields of an OpenPGP or X.509 blob, up to the first key-info record. */
export const KEY_INFO_START = 20;
export const BLOB_FLAG_EPHEMERAL = 0b10;

export interface BlobVersionLayout {
  /** The smallest key-info record this version allows. */
  readonly keyInfoMinSize: number;
  /** Bytes the fingerprint field takes in a key-info record. */
  readonly fingerprintField: number;
}

export const BLOB_VERSIONS: Readonly<Record<number, BlobVersionLayout>> = {
  1: { keyInfoMinSize: 28, fingerprintField: 20 },
  2: { keyInfoMinSize: 56, fingerprintField: 32 },
};

/** Blob version 2: the key flag saying the fingerprint field holds 32 bytes, not 20. */
export const KEY_FLAG_FINGERPRINT_32 = 0x80;
/** Blob version 2: where the key flags sit in a key-info record. */
export const V2_KEY_FLAGS_OFFSET = 32;

/** User-id records start with u32 offset and u32 length. */
export const USER_ID_MIN_SIZE = 8;
/** Ownertrust, validity, RFU, recheck-after, latest timestamp, created-at. */
export const TRUST_AND_TIMES_LENGTH = 16;

export const CHECKSUM_LENGTH = 20;
/** Before GnuPG 2.1: an MD5 in the last 16 bytes, zeroes in front of it. */
export const LEGACY_MD5_LENGTH = 16;
