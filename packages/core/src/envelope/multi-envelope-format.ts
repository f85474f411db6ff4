import { InvalidToken } from '../errors/invalid-token.js';
import { InvalidArgument } from '../errors/keystore-error.js';
import { isValidKeyId } from '../provider/key-id.js';
import { isValidProviderType } from '../provider/provider-type.js';
import { ALGORITHMS, DIGEST_LENGTH, type EnvelopeAlgorithm } from './envelope-format.js';
import { COMMITMENT_LENGTH } from './key-commitment.js';

/**
 * The envelope, version 2: one data key wrapped for several recipients
 * (docs/envelope-format.md, "Several recipients: version 2"):
 *
 *   envelope  = "ks2." base64url(header, unpadded) "." payload
 *   header    = u8 algorithm | context digest (32) | key commitment (32)
 *             | u8 n (1..16) | n × recipient
 *   recipient = u8 n | provider type | u16 n | key id | u32 version | u16 n | wrapped key
 *
 * Each recipient's wrapped key is what a version 1 envelope under that key
 * would carry (same data key, same wrap context).
 */
export const MULTI_ENVELOPE_PREFIX = 'ks2.';
export const MAX_RECIPIENTS = 16;

/** One recipient of an envelope: the key that wrapped its data key, and the wrapped key. */
export interface EnvelopeRecipient {
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  readonly wrappedKey: Uint8Array;
}

export interface MultiEnvelopeHeader {
  readonly algorithm: EnvelopeAlgorithm;
  readonly contextDigest: Uint8Array;
  readonly commitment: Uint8Array;
  readonly recipients: readonly EnvelopeRecipient[];
}

/** Whether two recipients name the same key (the header may hold each key once). */
export function sameKey(
  a: Pick<EnvelopeRecipient, 'provider' | 'keyId'>,
  b: Pick<EnvelopeRecipient, 'provider' | 'keyId'>,
): boolean {
  return a.provider === b.provider && a.keyId === b.keyId;
}

export function encodeMultiHeader(header: MultiEnvelopeHeader): Buffer {
  const { recipients } = header;
  if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new InvalidArgument(
      `an envelope holds 1 to ${MAX_RECIPIENTS} recipients, not ${recipients.length}`,
    );
  }
  if (header.contextDigest.length !== DIGEST_LENGTH || header.commitment.length !== COMMITMENT_LENGTH) {
    throw new InvalidArgument('context digest and key commitment must be 32 bytes each');
  }
  const parts = recipients.map((r, i) => {
    if (recipients.findIndex((other) => sameKey(other, r)) !== i) {
      throw new InvalidArgument(`the envelope would name ${r.provider} key '${r.keyId}' twice`);
    }
    const provider = Buffer.from(r.provider, 'ascii');
    const keyId = Buffer.from(r.keyId, 'utf8');
    if (provider.length > 0xff || keyId.length > 0xffff || r.wrappedKey.length > 0xffff) {
      throw new InvalidArgument('envelope header field too long');
    }
    const out = Buffer.allocUnsafe(1 + provider.length + 2 + keyId.length + 4 + 2 + r.wrappedKey.length);
    let o = out.writeUInt8(provider.length, 0);
    o += provider.copy(out, o);
    o = out.writeUInt16BE(keyId.length, o);
    o += keyId.copy(out, o);
    o = out.writeUInt32BE(r.version, o);
    o = out.writeUInt16BE(r.wrappedKey.length, o);
    out.set(r.wrappedKey, o);
    return out;
  });
  const head = Buffer.allocUnsafe(1 + DIGEST_LENGTH + COMMITMENT_LENGTH + 1);
  let o = head.writeUInt8(ALGORITHMS[header.algorithm], 0);
  head.set(header.contextDigest, o);
  o += DIGEST_LENGTH;
  head.set(header.commitment, o);
  o += COMMITMENT_LENGTH;
  head.writeUInt8(recipients.length, o);
  return Buffer.concat([head, ...parts]);
}

/** The header bytes of a version 2 envelope; anything malformed is `InvalidToken`. */
export function decodeMultiHeader(b: Buffer): MultiEnvelopeHeader {
  let o = 0;
  const need = (n: number) => {
    if (o + n > b.length) throw new InvalidToken();
  };
  need(1 + DIGEST_LENGTH + COMMITMENT_LENGTH + 1);
  const algorithmId = b.readUInt8(o++);
  const algorithm = (Object.keys(ALGORITHMS) as EnvelopeAlgorithm[]).find(
    (a) => ALGORITHMS[a] === algorithmId,
  );
  const contextDigest = new Uint8Array(b.subarray(o, o + DIGEST_LENGTH));
  o += DIGEST_LENGTH;
  const commitment = new Uint8Array(b.subarray(o, o + COMMITMENT_LENGTH));
  o += COMMITMENT_LENGTH;
  const count = b.readUInt8(o++);
  if (algorithm === undefined || count < 1 || count > MAX_RECIPIENTS) throw new InvalidToken();
  const recipients: EnvelopeRecipient[] = [];
  for (let i = 0; i < count; i++) {
    need(1);
    const providerLength = b.readUInt8(o++);
    need(providerLength + 2);
    // latin1, not ascii: Node's ascii decoding drops the high bit (see envelope-format.ts).
    const provider = b.toString('latin1', o, o + providerLength);
    o += providerLength;
    const keyIdLength = b.readUInt16BE(o);
    o += 2;
    need(keyIdLength + 4 + 2);
    const keyIdBytes = b.subarray(o, o + keyIdLength);
    const keyId = keyIdBytes.toString('utf8');
    o += keyIdLength;
    const version = b.readUInt32BE(o);
    o += 4;
    const wrappedLength = b.readUInt16BE(o);
    o += 2;
    need(wrappedLength);
    const wrappedKey = new Uint8Array(b.subarray(o, o + wrappedLength));
    o += wrappedLength;
    const recipient = { provider, keyId, version, wrappedKey };
    if (
      !isValidProviderType(provider) ||
      !isValidKeyId(keyId) ||
      !Buffer.from(keyId, 'utf8').equals(keyIdBytes) ||
      version < 1 ||
      wrappedLength === 0 ||
      recipients.some((r) => sameKey(r, recipient))
    ) {
      throw new InvalidToken();
    }
    recipients.push(recipient);
  }
  if (o !== b.length) throw new InvalidToken();
  return { algorithm, contextDigest, commitment, recipients };
}
