import { canonicalContext, type EncryptionContext, InvalidToken } from '@keystore/core/provider';
import { isKeyArn } from './names.js';

/**
 * The wrapped key of an RSA (asymmetric) KMS key, format 2:
 *
 *   'K' 0x02 | u16 ref length | ref | u16 ARN length | ARN
 *            | u16 RSA length | RSAES_OAEP_SHA_256(KEK)      (the header)
 *            | nonce (12) | AES-256-GCM(data key) | tag (16)  (the seal)
 *
 *   aad = "keystore/aws-kms rsa-oaep-sha256 v1" | header | canonical context
 *
 * (big-endian lengths, UTF-8 strings; the canonical context is the core's
 * `canonicalContext`, its `keystore:alg` entry included). The KEK is 32 fresh
 * bytes per wrap, encrypted to the key's public key; only KMS can decrypt
 * it. KMS takes no encryption context for RSA keys, so the context is bound
 * here instead, by the AEAD: the whole header (reference, key ARN and RSA
 * ciphertext) and the context are its associated data, and a wrapped key read
 * with another context, moved to another key or altered anywhere fails to
 * open. The second byte tells it from the symmetric format (wire.ts, 0x01):
 * each decoder refuses the other's bytes as InvalidToken.
 */
const MAGIC = 0x4b;
export const ASYMMETRIC_FORMAT = 0x02;
const MAX_STRING = 2048;
const AAD_LABEL = Buffer.from('keystore/aws-kms rsa-oaep-sha256 v1', 'utf8');
/** RSAES_OAEP_SHA_256 ciphertexts are one modulus long: RSA_2048, RSA_3072, RSA_4096. */
const RSA_LENGTHS = new Set([256, 384, 512]);
/** nonce, at least one byte of data key, tag. */
const MIN_SEAL = 12 + 1 + 16;

export interface AsymmetricWireKey {
  readonly ref: string;
  readonly arn: string;
  /** RSAES_OAEP_SHA_256 of the KEK, as KMS Decrypt takes it. */
  readonly rsa: Uint8Array;
  /** nonce | ciphertext | tag, as core's `openAesGcm` takes it. */
  readonly sealed: Uint8Array;
  /** The associated data the seal was made with (for this context). */
  readonly aad: Uint8Array;
}

/** The header bytes, which end where the seal begins. */
export function encodeHeader(ref: string, arn: string, rsa: Uint8Array): Buffer {
  const r = Buffer.from(ref, 'utf8');
  const a = Buffer.from(arn, 'utf8');
  if (r.length === 0 || r.length > MAX_STRING || a.length === 0 || a.length > MAX_STRING) {
    throw new RangeError('aws-kms: a key reference or ARN out of bounds');
  }
  const out = Buffer.alloc(2 + 2 + r.length + 2 + a.length + 2 + rsa.length);
  out[0] = MAGIC;
  out[1] = ASYMMETRIC_FORMAT;
  let o = out.writeUInt16BE(r.length, 2);
  o += r.copy(out, o);
  o = out.writeUInt16BE(a.length, o);
  o += a.copy(out, o);
  o = out.writeUInt16BE(rsa.length, o);
  out.set(rsa, o);
  return out;
}

export function asymmetricAad(header: Uint8Array, context: EncryptionContext): Buffer {
  return Buffer.concat([AAD_LABEL, header, canonicalContext(context)]);
}

/** Whether the bytes claim format 2 (nothing else is checked). */
export function isAsymmetricWire(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === MAGIC && bytes[1] === ASYMMETRIC_FORMAT;
}

/** The parts of a format-2 wrapped key; anything malformed is InvalidToken, like any other bad ciphertext. */
export function decodeAsymmetric(bytes: Uint8Array, context: EncryptionContext): AsymmetricWireKey {
  if (!(bytes instanceof Uint8Array) || !isAsymmetricWire(bytes) || bytes.length < 4)
    throw new InvalidToken();
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let o = 2;
  const field = (max: number): Uint8Array => {
    if (o + 2 > b.length) throw new InvalidToken();
    const length = b.readUInt16BE(o);
    o += 2;
    if (length === 0 || length > max || o + length > b.length) throw new InvalidToken();
    const out = b.subarray(o, o + length);
    o += length;
    return out;
  };
  const text = (raw: Uint8Array): string => {
    try {
      return decoder.decode(raw);
    } catch {
      throw new InvalidToken();
    }
  };
  const ref = text(field(MAX_STRING));
  const arn = text(field(MAX_STRING));
  const rsa = field(512);
  if (!isKeyArn(arn) || !RSA_LENGTHS.has(rsa.length) || b.length - o < MIN_SEAL) throw new InvalidToken();
  return {
    ref,
    arn,
    rsa: Uint8Array.from(rsa),
    sealed: Uint8Array.from(b.subarray(o)),
    aad: asymmetricAad(b.subarray(0, o), context),
  };
}
