/**
 * Strict base64url: the URL-safe alphabet, padding optional. Node's decoder
 * silently skips characters outside the alphabet; we reject such input by
 * checking that every character was consumed (the decoded length must be
 * the one the input's length implies).
 */

/** base64url with `=` padding, as Python's `base64.urlsafe_b64encode` writes it. */
export function encodeBase64UrlPadded(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = buf.toString('base64url');
  switch (s.length & 3) {
    case 2:
      return `${s}==`;
    case 3:
      return `${s}=`;
    default:
      return s;
  }
}

/** Decodes base64url (padded or not); `undefined` when the input is not strictly valid. */
export function decodeBase64Url(text: string): Buffer | undefined {
  let end = text.length;
  let padding = 0;
  while (padding < 2 && end > 0 && text.charCodeAt(end - 1) === 61 /* = */) {
    end--;
    padding++;
  }
  const rest = end & 3;
  if (rest === 1) return undefined;
  if (padding > 0 && ((end + padding) & 3) !== 0) return undefined;
  const decoded = Buffer.from(text, 'base64url');
  if (decoded.length !== (end * 3) >>> 2) return undefined;
  return decoded;
}
