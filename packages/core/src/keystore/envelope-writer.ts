import type { Fernet } from '../ciphers/fernet/fernet.js';
import { fernetTokenLength } from '../ciphers/payload-limit.js';

/** Token bytes base64-encoded per call: a multiple of 3, so that no group straddles two calls. */
const SLICE = 3 * 256 * 1024;

/**
 * `head + fernet.encryptFromParts(plaintext, timestamp, iv)` (`head` is the
 * envelope up to its payload, `envelopeHead(...)`),
 * character for character, without its copies. That path holds the
 * ciphertext, the token, its base64 text, a padded copy of the text and
 * finally the concatenated envelope (which V8 flattens into its heap on
 * first use): about six times the payload. Here the token is written in
 * pieces straight into one buffer of exactly the envelope's length, as
 * base64url, and that buffer becomes the string: about twice. A string
 * payload is encoded to UTF-8 piece by piece (`plaintext` as given).
 */
export function writeFernetEnvelope(
  head: string,
  fernet: Fernet,
  plaintext: Buffer | string,
  timestamp: number,
  iv: Uint8Array,
): string {
  const bytes = typeof plaintext === 'string' ? Buffer.byteLength(plaintext, 'utf8') : plaintext.length;
  const tokenLength = fernetTokenLength(bytes);
  const total = head.length + 4 * Math.ceil(tokenLength / 3);
  // Pooled when small (the common case), its own allocation when large; every byte is written below.
  const out = Buffer.allocUnsafe(total);
  let at = out.write(head, 0, 'latin1');
  // Bytes of an incomplete 3-byte group, carried to the next piece.
  const carry = Buffer.alloc(3);
  let carried = 0;
  const encode = (bytes: Buffer, start: number, end: number) => {
    at += out.write(bytes.toString('base64url', start, end), at, 'latin1');
  };
  fernet.encryptInPieces(plaintext, timestamp, iv, (piece) => {
    let i = 0;
    if (carried > 0) {
      while (carried < 3 && i < piece.length) carry[carried++] = piece[i++] as number;
      if (carried < 3) return;
      encode(carry, 0, 3);
      carried = 0;
    }
    const whole = i + Math.floor((piece.length - i) / 3) * 3;
    for (let start = i; start < whole; start += SLICE) encode(piece, start, Math.min(start + SLICE, whole));
    for (i = whole; i < piece.length; i++) carry[carried++] = piece[i] as number;
  });
  if (carried > 0) encode(carry, 0, carried);
  const padding = total - at;
  // A bug here would be silent corruption: stop instead (no data in the message).
  if (padding !== (3 - (tokenLength % 3)) % 3) throw new Error('envelope writer: token length mismatch');
  out.fill(61 /* = */, at);
  // One copy into a string outside V8's heap; `out` is garbage from here on.
  return out.toString('latin1');
}
