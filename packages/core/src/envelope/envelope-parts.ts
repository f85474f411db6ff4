import { InvalidToken } from '../errors/invalid-token.js';
import {
  decodeHeader,
  ENVELOPE_PREFIX,
  type EnvelopeAlgorithm,
  encodeHeader,
  splitEnvelope,
} from './envelope-format.js';
import {
  decodeMultiHeader,
  type EnvelopeRecipient,
  encodeMultiHeader,
  MULTI_ENVELOPE_PREFIX,
} from './multi-envelope-format.js';

/**
 * An envelope of either version as one shape: its algorithm, context digest,
 * recipients (one for version 1) and, for version 2, the key commitment.
 */
export interface EnvelopeParts {
  readonly format: 1 | 2;
  readonly algorithm: EnvelopeAlgorithm;
  readonly contextDigest: Uint8Array;
  /** Version 2 only: the data key's commitment. */
  readonly commitment: Uint8Array | undefined;
  readonly recipients: readonly EnvelopeRecipient[];
  readonly payload: string;
}

/** Parses an envelope of either version, without the payload's encoding check (see `parseEnvelopeHeader`). */
export function parseEnvelopeParts(envelope: unknown): EnvelopeParts {
  if (typeof envelope === 'string' && envelope.startsWith(MULTI_ENVELOPE_PREFIX)) {
    const { headerBytes, payload } = splitEnvelope(envelope, MULTI_ENVELOPE_PREFIX);
    const header = decodeMultiHeader(headerBytes);
    return { format: 2, ...header, payload };
  }
  if (typeof envelope !== 'string' || !envelope.startsWith(ENVELOPE_PREFIX)) throw new InvalidToken();
  const { headerBytes, payload } = splitEnvelope(envelope, ENVELOPE_PREFIX);
  const h = decodeHeader(headerBytes);
  return {
    format: 1,
    algorithm: h.algorithm,
    contextDigest: h.contextDigest,
    commitment: undefined,
    recipients: [{ provider: h.provider, keyId: h.keyId, version: h.version, wrappedKey: h.wrappedKey }],
    payload,
  };
}

/** What an envelope's head is written from. */
export interface EnvelopeHeadParts {
  readonly algorithm: EnvelopeAlgorithm;
  readonly contextDigest: Uint8Array;
  readonly commitment: Uint8Array;
  readonly recipients: readonly EnvelopeRecipient[];
}

/**
 * The envelope's text up to and including the dot before the payload:
 * version 1 for one recipient (what every reader of version 1 reads), version
 * 2 for several.
 */
export function envelopeHead(parts: EnvelopeHeadParts): string {
  const [only, ...others] = parts.recipients;
  if (only !== undefined && others.length === 0) {
    const header = { ...only, algorithm: parts.algorithm, contextDigest: parts.contextDigest };
    return `${ENVELOPE_PREFIX}${encodeHeader(header).toString('base64url')}.`;
  }
  return `${MULTI_ENVELOPE_PREFIX}${encodeMultiHeader(parts).toString('base64url')}.`;
}
