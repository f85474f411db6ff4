import { createScratch } from './scratch.js';

/**
 * base64url (RFC 4648 section 5) on top of Node's codec, which is lenient:
 * its decoder skips characters outside the alphabet, reads `+` and `/` as
 * `-` and `_`, ignores the last character's unused low bits, and reads a
 * character above U+00FF as the one its low byte names. `decodeBase64Url`
 * (keys) refuses skipped and wide characters; `decodeBase64UrlPadded`
 * (tokens) accepts only the one spelling `encodeBase64UrlPadded` writes.
 */

const textScratch = createScratch(0);
/** Above this many characters, padding is written in a buffer rather than by concatenation. */
const FLAT_PADDING_THRESHOLD = 64 * 1024;

/** base64url with `=` padding, as Python's `base64.urlsafe_b64encode` writes it. */
export function encodeBase64UrlPadded(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('base64url');
  const padding = (4 - (text.length & 3)) & 3;
  if (padding === 0) return text;
  if (text.length < FLAT_PADDING_THRESHOLD) return padding === 1 ? `${text}=` : `${text}==`;
  // `text + '='` would be a rope that V8 flattens into its heap on first use,
  // copying and later collecting a large string; Node keeps large strings
  // made from buffers outside the heap.
  const area = textScratch(text.length + padding);
  const written = area.write(text, 0, 'latin1');
  area.fill(61 /* = */, written, written + padding);
  return area.toString('latin1', 0, written + padding);
}

/** Any character above U+00FF. Cheap on a one-byte string, which cannot match: V8 does not scan it. */
const WIDE = /[\u0100-\uffff]/;

/**
 * Decodes base64url (padded or not, `+` and `/` read as `-` and `_`, as
 * Python reads keys) into `into(maxLength)`, a buffer the caller provides;
 * `undefined` when the input has any other character or a wrong length.
 */
export function decodeBase64Url(text: string, into?: (size: number) => Buffer): Buffer | undefined {
  let end = text.length;
  let padding = 0;
  while (padding < 2 && end > 0 && text.charCodeAt(end - 1) === 61 /* = */) {
    end--;
    padding++;
  }
  if ((end & 3) === 1) return undefined;
  if (padding > 0 && ((end + padding) & 3) !== 0) return undefined;
  return decodeData(text, (end * 3) >>> 2, into);
}

/**
 * The last data character, by how many `=` follow it, when its unused low
 * bits are zero: 4 unused bits before `==`, 2 before `=`.
 */
const CLEAN_LAST = ['', 'AEIMQUYcgkosw048', 'AQgw'] as const;

/**
 * Decodes exactly what `encodeBase64UrlPadded` writes (the form of Python's
 * `urlsafe_b64encode`, and of Fernet tokens): the URL-safe alphabet, `=`
 * padding to a multiple of 4 characters, no stray bits. Any other spelling
 * of the same bytes is `undefined`, so that one record has one encoding.
 */
export function decodeBase64UrlPadded(text: string, into?: (size: number) => Buffer): Buffer | undefined {
  if ((text.length & 3) !== 0) return undefined;
  let end = text.length;
  while (end > text.length - 2 && end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  const padding = text.length - end;
  if (padding > 0 && !CLEAN_LAST[padding]?.includes(text.charAt(end - 1))) return undefined;
  // Node reads these two as '-' and '_': the one check the decoded length cannot make. Two
  // indexOf calls (memchr) cost a fraction of one regex over the alphabet.
  if (text.indexOf('+') !== -1 || text.indexOf('/') !== -1) return undefined;
  return decodeData(text, (end * 3) >>> 2, into);
}

/**
 * Decodes `text`, which must give exactly `expected` bytes. Node's decoder
 * skips characters outside its alphabet (or stops at an inner `=`), and
 * with at most one partial group every character counts: any skipped one
 * shortens the output, so a short count means the input had some.
 */
function decodeData(text: string, expected: number, into?: (size: number) => Buffer): Buffer | undefined {
  if (WIDE.test(text)) return undefined;
  if (text.length > DECODE_PIECE) return decodeInPieces(text, expected, into);
  if (into === undefined) {
    const decoded = Buffer.from(text, 'base64url');
    return decoded.length === expected ? decoded : undefined;
  }
  const target = into(expected);
  const written = target.write(text, 0, expected, 'base64url');
  if (written !== expected) return undefined;
  return target.subarray(0, expected);
}

/**
 * Characters decoded per call for long text (a multiple of 4, so no group
 * straddles two calls). Node decodes a string it cannot read in place (a
 * slice of a larger string, as every envelope's payload is) by copying it
 * whole first: 1.4 extra bytes per payload byte for a large envelope. In
 * pieces, that copy is one piece.
 */
const DECODE_PIECE = 1 << 20;

function decodeInPieces(text: string, expected: number, into?: (size: number) => Buffer): Buffer | undefined {
  const target = into === undefined ? Buffer.allocUnsafe(expected) : into(expected);
  let written = 0;
  for (let at = 0; at < text.length; at += DECODE_PIECE) {
    const piece = text.slice(at, at + DECODE_PIECE);
    written += target.write(piece, written, Math.max(0, expected - written), 'base64url');
  }
  // As above: a skipped character makes some piece, and so the whole, come out short.
  return written === expected ? target.subarray(0, expected) : undefined;
}
