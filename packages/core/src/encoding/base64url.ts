import { createScratch } from './scratch.js';

/**
 * Strict base64url: the URL-safe alphabet, padding optional. Node's decoder
 * silently skips characters outside the alphabet; we reject such input by
 * checking that every character was consumed (the decoded length must be
 * the one the input's length implies).
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

/**
 * Decodes base64url (padded or not) into `into(maxLength)`, a buffer the
 * caller provides; `undefined` when the input is not strictly valid.
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
  const expected = (end * 3) >>> 2;
  if (into === undefined) {
    const decoded = Buffer.from(text, 'base64url');
    return decoded.length === expected ? decoded : undefined;
  }
  const target = into(expected);
  const written = target.write(text, 0, expected, 'base64url');
  // Node's decoder skips characters outside the alphabet: a short count means the input had some.
  if (written !== expected) return undefined;
  return target.subarray(0, expected);
}
