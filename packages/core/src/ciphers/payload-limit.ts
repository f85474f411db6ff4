import { InvalidArgument } from '../errors/keystore-error.js';

/**
 * The largest payload one envelope, or one Fernet token, holds: 256 MiB. An envelope is one
 * string, `ks1.<header>.<base64url of the Fernet token>`, about 4/3 of the
 * payload, and V8 (Node 20) caps strings at 2^29 - 24 characters, so about
 * 402 MB is the hard ceiling; 256 MiB leaves room for the largest header
 * and is a round number. Larger data: split it, or encrypt a file key.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** V8's longest string on 64-bit Node 20 (`buffer.constants.MAX_STRING_LENGTH`). */
export const V8_MAX_STRING_LENGTH = 2 ** 29 - 24;

/** The longest version 1 header: u8 + 255 + u16 + 65535 + u32 + u8 + 32 + u16 + 65535 bytes. */
const MAX_V1_HEADER_BYTES = 1 + 255 + 2 + 0xffff + 4 + 1 + 32 + 2 + 0xffff;
/** The longest version 2 header: algorithm, digest, commitment, count, and 16 of the longest recipients. */
const MAX_V2_HEADER_BYTES = 1 + 32 + 32 + 1 + 16 * (1 + 255 + 2 + 0xffff + 4 + 2 + 0xffff);
/** The longest encoded header of either version. */
export const MAX_HEADER_BYTES = Math.max(MAX_V1_HEADER_BYTES, MAX_V2_HEADER_BYTES);

/** Fernet's version, timestamp and IV (25 bytes) and HMAC (32) around the padded ciphertext. */
const TOKEN_OVERHEAD = 25 + 32;

/** Bytes of the Fernet token of `payloadBytes` bytes (PKCS7 always adds 1 to 16 bytes). */
export function fernetTokenLength(payloadBytes: number): number {
  return TOKEN_OVERHEAD + (Math.floor(payloadBytes / 16) + 1) * 16;
}

/** Characters of the envelope of `payloadBytes` bytes under a header of `headerBytes` bytes. */
export function envelopeLength(payloadBytes: number, headerBytes: number): number {
  const header = Math.ceil((headerBytes * 4) / 3); // unpadded base64url
  return 4 + header + 1 + 4 * Math.ceil(fernetTokenLength(payloadBytes) / 3);
}

/** Refuses, before any work, data larger than one envelope (or Fernet token) holds. */
export function checkPayloadSize(where: string, bytes: number, what = 'one envelope'): void {
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new InvalidArgument(
      `${where}: data is ${bytes} bytes; ${what} holds at most ${MAX_PAYLOAD_BYTES} bytes (256 MiB)`,
    );
  }
}
