import { InvalidToken } from '@keystore/core/provider';
import { classifyReference, isKeyArn } from './names.js';

/**
 * The wrapped key in the envelope:
 *
 *   'K' 0x01 | u16 ref length | ref | u16 ARN length | ARN | KMS CiphertextBlob
 *
 * (big-endian lengths, UTF-8 strings). `ref` is the key reference the wrap
 * was made through (an alias, say) and is bound to the KMS ciphertext as a
 * reserved encryption context entry, so KMS refuses it if it was changed.
 * `ARN` is the key KMS actually used, as KMS answered; unwrap checks it
 * against KMS's answer, and when KMS refuses the envelope under the
 * configured key it tells a re-pointed alias from a foreign envelope.
 */
const MAGIC = 0x4b;
const FORMAT = 0x01;
const MAX_STRING = 2048;
/**
 * KMS's bound on CiphertextBlob. A longer one, or a reference we could not
 * have written, KMS would refuse as a malformed request (ValidationException,
 * InvalidArgument), not as a bad ciphertext: refused here, unsent.
 */
const MAX_BLOB = 6144;

export interface WireKey {
  readonly ref: string;
  readonly arn: string;
  readonly blob: Uint8Array;
}

export function encodeWrapped({ ref, arn, blob }: WireKey): Uint8Array {
  const r = Buffer.from(ref, 'utf8');
  const a = Buffer.from(arn, 'utf8');
  const out = new Uint8Array(2 + 2 + r.length + 2 + a.length + blob.length);
  const view = new DataView(out.buffer);
  out[0] = MAGIC;
  out[1] = FORMAT;
  view.setUint16(2, r.length);
  out.set(r, 4);
  view.setUint16(4 + r.length, a.length);
  out.set(a, 6 + r.length);
  out.set(blob, 6 + r.length + a.length);
  return out;
}

/** The parts of a wrapped key; anything malformed is InvalidToken, like any other bad ciphertext. */
export function decodeWrapped(bytes: Uint8Array): WireKey {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 6 || bytes[0] !== MAGIC || bytes[1] !== FORMAT) throw new InvalidToken();
  const refLength = view.getUint16(2);
  if (refLength === 0 || refLength > MAX_STRING || 6 + refLength > bytes.length) throw new InvalidToken();
  const arnLength = view.getUint16(4 + refLength);
  const blobAt = 6 + refLength + arnLength;
  if (arnLength === 0 || arnLength > MAX_STRING || blobAt >= bytes.length) throw new InvalidToken();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let ref: string;
  let arn: string;
  try {
    ref = decoder.decode(bytes.subarray(4, 4 + refLength));
    arn = decoder.decode(bytes.subarray(6 + refLength, blobAt));
  } catch {
    throw new InvalidToken();
  }
  if (!isKeyArn(arn) || classifyReference(ref) === undefined || bytes.length - blobAt > MAX_BLOB) {
    throw new InvalidToken();
  }
  return { ref, arn, blob: bytes.slice(blobAt) };
}
