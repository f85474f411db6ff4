import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isKeystoreError } from '@keystore/core';
import { readKeys } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { readKeybox } from '../src/index.js';

// The fixture is real GnuPG 2.2 output (fixtures/make-pubring-kbx.sh): a 32-byte header blob, then
// one OpenPGP blob (ed25519 primary key, cv25519 subkey) whose offsets the tests below rewrite.
const fixture = new Uint8Array(readFileSync(new URL('./fixtures/pubring.kbx', import.meta.url)));
const fixtureFingerprints = readFileSync(new URL('./fixtures/pubring.kbx.fpr', import.meta.url), 'utf8')
  .trim()
  .split('\n');
const HEADER = 32;

const u32 = (bytes: Uint8Array, at: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);
const setU16 = (bytes: Uint8Array, at: number, value: number) =>
  new DataView(bytes.buffer, bytes.byteOffset).setUint16(at, value);
const setU32 = (bytes: Uint8Array, at: number, value: number) =>
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value);
const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();

/** The fixture's OpenPGP blob, alone, as a fresh copy. */
function keyBlob(): Uint8Array {
  return fixture.slice(HEADER, HEADER + u32(fixture, HEADER));
}

/** Writes the blob's SHA-1 as GnuPG does, so a test of a field is not a test of the checksum. */
function reseal(blob: Uint8Array): Uint8Array {
  blob.set(sha1(blob.subarray(0, blob.length - 20)), blob.length - 20);
  return blob;
}

function keybox(...blobs: Uint8Array[]): Uint8Array {
  return Buffer.concat([fixture.subarray(0, HEADER), ...blobs]);
}

/** The fixture with the OpenPGP blob changed by `edit` (offsets within the blob) and resealed. */
function edited(edit: (blob: Uint8Array) => void, seal = true): Uint8Array {
  const blob = keyBlob();
  edit(blob);
  return keybox(seal ? reseal(blob) : blob);
}

function corruption(bytes: Uint8Array): Error {
  try {
    readKeybox(bytes);
  } catch (error) {
    expect(isKeystoreError(error, 'Corrupted')).toBe(true);
    const message = (error as Error).message;
    // Numbers and words only: no fingerprint, key id or other bytes of the file.
    expect(message).toMatch(/^keybox: [\w ',().-]+$/);
    for (const fingerprint of fixtureFingerprints) {
      expect(message.toUpperCase()).not.toContain(fingerprint.slice(-16));
    }
    return error as Error;
  }
  throw new Error('readKeybox accepted a corrupted keybox');
}

describe('readKeybox on GnuPG output', () => {
  it('lists the key with the fingerprints gpg lists, and a keyblock OpenPGP.js reads', async () => {
    const entries = readKeybox(fixture);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry?.fingerprints).toEqual(fixtureFingerprints);
    expect(entry?.offset).toBe(HEADER);
    const keys = await readKeys({ binaryKeys: entry?.keyblock ?? new Uint8Array() });
    expect(keys).toHaveLength(1);
    const key = keys[0];
    expect([key?.getFingerprint(), ...(key?.getSubkeys() ?? []).map((s) => s.getFingerprint())]).toEqual(
      fixtureFingerprints.map((f) => f.toLowerCase()),
    );
  });

  it('gives copies of the keyblocks, not views of the input', () => {
    const bytes = fixture.slice();
    const [entry] = readKeybox(bytes);
    bytes.fill(0);
    expect(entry?.keyblock[0]).not.toBe(0);
    expect(entry?.keyblock.buffer).not.toBe(bytes.buffer);
  });

  it('reads a keybox that is a view into a larger buffer', () => {
    const padded = new Uint8Array(fixture.length + 7);
    padded.set(fixture, 3);
    expect(readKeybox(padded.subarray(3, 3 + fixture.length))[0]?.fingerprints).toEqual(fixtureFingerprints);
  });

  it('reads every OpenPGP blob, in file order, with its file offset', () => {
    const blob = keyBlob();
    const entries = readKeybox(keybox(blob, blob));
    expect(entries.map((e) => e.offset)).toEqual([HEADER, HEADER + blob.length]);
  });

  it('takes a header blob alone as an empty keybox', () => {
    expect(readKeybox(fixture.subarray(0, HEADER))).toEqual([]);
  });

  it('skips deleted (type 0) and X.509 (type 3) blobs, even with stale checksums, and ephemeral keys', () => {
    const deleted = keyBlob();
    deleted[4] = 0;
    deleted[200] = (deleted[200] ?? 0) ^ 1; // gpg leaves the old bytes; nothing of them is checked
    const x509 = keyBlob();
    x509[4] = 3;
    x509[x509.length - 1] = (x509[x509.length - 1] ?? 0) ^ 1; // gpgsm updates flags in place
    const ephemeral = keyBlob();
    setU16(ephemeral, 6, 0b10);
    const entries = readKeybox(keybox(deleted, x509, reseal(ephemeral), keyBlob()));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.offset).toBe(HEADER + 3 * deleted.length);
  });

  it('skips a second header blob, as GnuPG does', () => {
    expect(readKeybox(keybox(fixture.slice(0, HEADER), keyBlob()))).toHaveLength(1);
  });
});

/**
 * A version 2 blob (GnuPG 2.3+, 32-byte fingerprint fields) around the fixture's keyblock: no
 * GnuPG here writes one, so it is built from the layout comment of kbx/keybox-blob.c.
 */
function version2Blob(fingerprints: { bytes: Buffer; long: boolean }[], keyInfoSize = 56): Uint8Array {
  const [entry] = readKeybox(fixture);
  const keyblock = entry?.keyblock ?? new Uint8Array();
  const keyInfo = fingerprints.map(({ bytes, long }) => {
    const record = Buffer.alloc(keyInfoSize);
    bytes.copy(record, 0);
    record.writeUInt16BE(long ? 0x80 : 0, 32);
    return record;
  });
  const tail = Buffer.alloc(2 + 6 + 4 + 16 + 4); // no serial, no user ids, no signatures, trust, no reserved
  tail.writeUInt16BE(12, 4);
  tail.writeUInt16BE(4, 8);
  const head = Buffer.alloc(20);
  const keyblockOffset = head.length + keyInfoSize * keyInfo.length + tail.length;
  const blob = new Uint8Array(keyblockOffset + keyblock.length + 20);
  head.writeUInt32BE(blob.length, 0);
  head[4] = 2;
  head[5] = 2;
  head.writeUInt32BE(keyblockOffset, 8);
  head.writeUInt32BE(keyblock.length, 12);
  head.writeUInt16BE(keyInfo.length, 16);
  head.writeUInt16BE(keyInfoSize, 18);
  blob.set(Buffer.concat([head, ...keyInfo, tail, keyblock]));
  return reseal(blob);
}

describe('readKeybox blob version 2', () => {
  const short = Buffer.from(fixtureFingerprints[0] ?? '', 'hex');
  const long = Buffer.alloc(32, 0xab);

  it('reads 20-byte fingerprints (right-filled) and 32-byte ones (key flag bit 7)', () => {
    const [entry] = readKeybox(
      keybox(
        version2Blob([
          { bytes: short, long: false },
          { bytes: long, long: true },
        ]),
      ),
    );
    expect(entry?.fingerprints).toEqual([fixtureFingerprints[0], 'AB'.repeat(32)]);
  });

  it('refuses key-info records below 56 bytes', () => {
    expect(corruption(keybox(version2Blob([{ bytes: short, long: false }], 55))).message).toMatch(
      /key-info record size 55 is below 56 \(blob version 2\)/,
    );
  });
});

describe('readKeybox checksums', () => {
  it('refuses a flipped checksum byte', () => {
    const error = corruption(edited((blob) => ((blob[blob.length - 5] as number) ^= 0x40), false));
    expect(error.message).toBe(`keybox: checksum mismatch (blob 1 at file offset 32, blob offset 588)`);
  });

  it('refuses a flipped byte of the keyblock', () => {
    expect(corruption(edited((blob) => ((blob[300] as number) ^= 1), false)).message).toMatch(
      /checksum mismatch/,
    );
  });

  /** The blob with `gap` zero bytes inserted between the keyblock and the checksum. */
  function withGap(gap: number): Uint8Array {
    const blob = keyBlob();
    const out = new Uint8Array(blob.length + gap);
    out.set(blob.subarray(0, blob.length - 20));
    setU32(out, 0, out.length);
    return out;
  }

  it('accepts a SHA-1 that leaves RFU bytes after the keyblock out (the layout comment)', () => {
    const blob = withGap(8);
    const keyblockEnd = blob.length - 28;
    blob.set(sha1(blob.subarray(0, keyblockEnd)), blob.length - 20);
    expect(readKeybox(keybox(blob))).toHaveLength(1);
  });

  it("accepts GnuPG 2.0's MD5 (zeroes, then MD5 in the last 16 bytes), and refuses a wrong one", () => {
    const blob = withGap(44); // 64 bytes after the keyblock, as GnuPG before 2.1 wrote
    blob.set(
      createHash('md5')
        .update(blob.subarray(0, blob.length - 16))
        .digest(),
      blob.length - 16,
    );
    expect(readKeybox(keybox(blob))).toHaveLength(1);
    (blob[blob.length - 1] as number) ^= 1;
    expect(corruption(keybox(blob)).message).toMatch(/checksum mismatch/);
  });

  it('refuses an all-zero checksum', () => {
    expect(corruption(keybox(withGap(0))).message).toMatch(/checksum mismatch/);
  });
});

describe('readKeybox on malformed files', () => {
  it('refuses an empty file and a file cut anywhere', () => {
    expect(corruption(new Uint8Array()).message).toMatch(/ends inside a blob's length/);
    expect(corruption(fixture.subarray(0, fixture.length - 1)).message).toBe(
      'keybox: blob length 608 runs past the end of the file (607 bytes left) (blob 1 at file offset 32, blob offset 0)',
    );
    expect(corruption(fixture.subarray(0, HEADER + 3)).message).toMatch(
      /ends inside a blob's length and type \(3/,
    );
    expect(corruption(fixture.subarray(0, 20)).message).toMatch(
      /blob length 32 runs past the end of the file/,
    );
  });

  it('refuses a bad magic, a header of another version or type, and a short header', () => {
    const magic = fixture.slice();
    magic[9] = 0x41;
    expect(corruption(magic).message).toMatch(/no 'KBXf' magic .*blob offset 8/);
    const version = fixture.slice();
    version[5] = 2;
    expect(corruption(version).message).toMatch(/unsupported keybox version 2/);
    expect(corruption(keyBlob()).message).toMatch(/first blob is of type 2, not the keybox header/);
    const short = fixture.slice(0, 16);
    setU32(short, 0, 16);
    expect(corruption(short).message).toMatch(/header blob's length 16 is below 32/);
  });

  it('refuses a blob length below 5 or past the end of the file', () => {
    expect(corruption(edited((blob) => setU32(blob, 0, 4), false)).message).toMatch(
      /blob length 4 is too short/,
    );
    expect(corruption(edited((blob) => setU32(blob, 0, 0xffffffff), false)).message).toMatch(
      /blob length 4294967295 runs past the end of the file \(608 bytes left\)/,
    );
  });

  it('refuses a keyblock offset past the blob, or inside its key information', () => {
    expect(corruption(edited((blob) => setU32(blob, 8, blob.length))).message).toMatch(
      /keyblock \(offset 608, length 462\) runs past the checksum \(blob length 608\).*blob offset 8/,
    );
    expect(corruption(edited((blob) => setU32(blob, 8, 100))).message).toMatch(
      /keyblock offset 100 lies inside the key information \(which ends at 126\)/,
    );
  });

  it('refuses length fields that overflow: keyblock length, counts and record sizes', () => {
    expect(corruption(edited((blob) => setU32(blob, 12, 0xffffffff))).message).toMatch(
      /keyblock \(offset 126, length 4294967295\) runs past the checksum/,
    );
    expect(corruption(edited((blob) => setU32(blob, 12, 0))).message).toMatch(/the keyblock is empty/);
    // 65535 keys read the fields after the two real ones as key-info records, until one fails.
    expect(corruption(edited((blob) => setU16(blob, 16, 0xffff))).message).toMatch(
      /key id offset \d+ of key 2 lies outside the blob|key-info record \d+ \(28 bytes\) runs past/,
    );
    expect(corruption(edited((blob) => setU16(blob, 18, 0xffff))).message).toMatch(
      /key-info record 0 \(65535 bytes\) runs past the end of the blob/,
    );
    expect(corruption(edited((blob) => setU16(blob, 76, 0xffff))).message).toMatch(
      /serial number \(65535 bytes\) runs past/,
    );
    expect(corruption(edited((blob) => setU16(blob, 94, 0xffff))).message).toMatch(
      /65535 signature records \(262140 bytes\) runs past/,
    );
    expect(corruption(edited((blob) => setU16(blob, 96, 0xffff))).message).toMatch(
      /2 signature records \(131070 bytes\) runs past/,
    );
    expect(corruption(edited((blob) => setU32(blob, 122, 0xfffffff0))).message).toMatch(
      /reserved space \(4294967280 bytes\) runs past/,
    );
  });

  it('refuses offsets outside the blob: a user id, a key id', () => {
    expect(corruption(edited((blob) => setU32(blob, 86, 0xffffff00))).message).toMatch(
      /user id 0 \(offset 195, length 4294967040\) runs past the end of the blob \(length 608\).*blob offset 82/,
    );
    expect(corruption(edited((blob) => setU32(blob, 82, 609))).message).toMatch(/user id 0 \(offset 609/);
    expect(corruption(edited((blob) => setU32(blob, 40, 601))).message).toMatch(
      /key id offset 601 of key 0 lies outside the blob.*blob offset 40/,
    );
  });

  it('refuses no keys, a short key-info record, an unknown blob version or type', () => {
    expect(corruption(edited((blob) => setU16(blob, 16, 0))).message).toMatch(/lists no key/);
    expect(corruption(edited((blob) => setU16(blob, 18, 27))).message).toMatch(
      /key-info record size 27 is below 28 \(blob version 1\)/,
    );
    expect(corruption(edited((blob) => setU16(blob, 80, 7))).message).toMatch(
      /user id record size 7 is below 8/,
    );
    expect(corruption(edited((blob) => (blob[5] = 3))).message).toMatch(/unsupported OpenPGP blob version 3/);
    expect(corruption(edited((blob) => (blob[4] = 9))).message).toMatch(/unknown blob type 9/);
  });

  it('refuses what is not bytes with InvalidArgument', () => {
    expect(() => readKeybox('pubring.kbx' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});
