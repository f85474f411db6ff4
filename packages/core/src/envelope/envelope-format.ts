import { decodeBase64UrlPadded } from '../encoding/base64url.js';
import { tokenScratch } from '../encoding/scratch.js';
import { InvalidToken } from '../errors/invalid-token.js';
import { InvalidArgument } from '../errors/keystore-error.js';
import { isValidKeyId } from '../provider/key-id.js';
import { isValidProviderType } from '../provider/provider-type.js';

/**
 * The envelope, version 1 (docs/envelope-format.md is the reference):
 *
 *   envelope = "ks1." base64url(header, unpadded) "." payload
 *   header   = u8 n | provider type (n bytes, ASCII)
 *            | u16 n | key id (n bytes, UTF-8)
 *            | u32 key version
 *            | u8 algorithm (1 = Fernet)
 *            | context digest (32 bytes, SHA-256 of the canonical context)
 *            | u16 n | wrapped data key (n bytes)
 *   payload  = for Fernet: the Fernet token of the data under the data key,
 *              canonical padded base64url
 *
 * Integers are big-endian. Nothing in the header is secret; the provider's
 * wrap binds provider type, key id, version, algorithm and context, so a
 * header edited to point elsewhere fails to unwrap.
 */
export const ENVELOPE_PREFIX = 'ks1.';
export const DIGEST_LENGTH = 32;

export const ALGORITHMS = { fernet: 1 } as const;
export type EnvelopeAlgorithm = keyof typeof ALGORITHMS;

export interface EnvelopeHeader {
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  readonly algorithm: EnvelopeAlgorithm;
  readonly contextDigest: Uint8Array;
  readonly wrappedKey: Uint8Array;
}

export interface ParsedEnvelope {
  readonly header: EnvelopeHeader;
  readonly payload: string;
}

function algorithmName(id: number): EnvelopeAlgorithm | undefined {
  for (const [name, value] of Object.entries(ALGORITHMS)) if (value === id) return name as EnvelopeAlgorithm;
  return undefined;
}

export function encodeHeader(header: EnvelopeHeader): Buffer {
  const provider = Buffer.from(header.provider, 'ascii');
  const keyId = Buffer.from(header.keyId, 'utf8');
  if (provider.length > 0xff || keyId.length > 0xffff || header.wrappedKey.length > 0xffff) {
    throw new InvalidArgument('envelope header field too long');
  }
  if (header.contextDigest.length !== DIGEST_LENGTH)
    throw new InvalidArgument('context digest must be 32 bytes');
  const out = Buffer.allocUnsafe(
    1 + provider.length + 2 + keyId.length + 4 + 1 + DIGEST_LENGTH + 2 + header.wrappedKey.length,
  );
  let o = out.writeUInt8(provider.length, 0);
  o += provider.copy(out, o);
  o = out.writeUInt16BE(keyId.length, o);
  o += keyId.copy(out, o);
  o = out.writeUInt32BE(header.version, o);
  o = out.writeUInt8(ALGORITHMS[header.algorithm], o);
  out.set(header.contextDigest, o);
  o += DIGEST_LENGTH;
  o = out.writeUInt16BE(header.wrappedKey.length, o);
  out.set(header.wrappedKey, o);
  return out;
}

export function formatEnvelope(header: EnvelopeHeader, payload: string): string {
  return `${ENVELOPE_PREFIX}${encodeHeader(header).toString('base64url')}.${payload}`;
}

/** Parses an envelope; anything malformed is `InvalidToken`, like every other bad ciphertext. */
export function parseEnvelope(envelope: unknown): ParsedEnvelope {
  const parsed = parseEnvelopeHeader(envelope);
  if (!isCanonicalPayload(parsed.payload)) throw new InvalidToken();
  return parsed;
}

/**
 * Whether a payload is in its one canonical encoding (padded base64url, as
 * Fernet writes it). Decrypting a payload checks this as it decodes; a path
 * that carries a payload into a new envelope without decoding it (a
 * server-side re-wrap) must check it here.
 */
export function isCanonicalPayload(payload: string): boolean {
  return decodeBase64UrlPadded(payload, tokenScratch) !== undefined;
}

/**
 * `parseEnvelope` without the payload's encoding check, for callers that
 * decode the payload next anyway (decrypt) and so need not decode it twice:
 * a second pass over a 1 MiB payload costs about a tenth of its decryption.
 * @internal
 */
export function parseEnvelopeHeader(envelope: unknown): ParsedEnvelope {
  const { headerBytes, payload } = splitEnvelope(envelope, ENVELOPE_PREFIX);
  return { header: decodeHeader(headerBytes), payload };
}

/**
 * The header bytes and payload text of an envelope with `prefix`, its header
 * checked to be canonical base64url; anything else is `InvalidToken`.
 * @internal
 */
export function splitEnvelope(envelope: unknown, prefix: string): { headerBytes: Buffer; payload: string } {
  if (typeof envelope !== 'string' || !envelope.startsWith(prefix)) throw new InvalidToken();
  const dot = envelope.indexOf('.', prefix.length);
  if (dot < 0) throw new InvalidToken();
  const headerText = envelope.slice(prefix.length, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(headerText)) throw new InvalidToken();
  const headerBytes = Buffer.from(headerText, 'base64url');
  // Canonical encoding only: no extra character, no stray low bits in the last one.
  if (headerBytes.toString('base64url') !== headerText) throw new InvalidToken();
  const payload = envelope.slice(dot + 1);
  if (payload.length === 0) throw new InvalidToken();
  return { headerBytes, payload };
}

/** @internal */
export function decodeHeader(b: Buffer): EnvelopeHeader {
  let o = 0;
  const need = (n: number) => {
    if (o + n > b.length) throw new InvalidToken();
  };
  need(1);
  const providerLength = b.readUInt8(o++);
  need(providerLength);
  // latin1, not ascii: Node's ascii decoding drops the high bit, so 0xED would read as 'm'.
  const provider = b.toString('latin1', o, o + providerLength);
  o += providerLength;
  need(2);
  const keyIdLength = b.readUInt16BE(o);
  o += 2;
  need(keyIdLength);
  const keyIdBytes = b.subarray(o, o + keyIdLength);
  const keyId = keyIdBytes.toString('utf8');
  o += keyIdLength;
  need(4 + 1 + DIGEST_LENGTH + 2);
  const version = b.readUInt32BE(o);
  o += 4;
  const algorithm = algorithmName(b.readUInt8(o++));
  const contextDigest = new Uint8Array(b.subarray(o, o + DIGEST_LENGTH));
  o += DIGEST_LENGTH;
  const wrappedLength = b.readUInt16BE(o);
  o += 2;
  if (o + wrappedLength !== b.length) throw new InvalidToken();
  const wrappedKey = new Uint8Array(b.subarray(o));
  if (
    algorithm === undefined ||
    providerLength === 0 ||
    !isValidKeyId(keyId) ||
    !Buffer.from(keyId, 'utf8').equals(keyIdBytes) ||
    version < 1 ||
    wrappedLength === 0 ||
    !isValidProviderType(provider)
  ) {
    throw new InvalidToken();
  }
  return { provider, keyId, version, algorithm, contextDigest, wrappedKey };
}
