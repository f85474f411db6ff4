import { randomBytes as nodeRandomBytes } from 'node:crypto';

export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

export function randomHex(bytes = 4): string {
  return nodeRandomBytes(bytes).toString('hex');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Whether `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return view(haystack).includes(view(needle));
}

export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function fromUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A copy with one bit flipped at `index`. */
export function flipBit(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] ?? 0) ^ mask;
  return copy;
}

/**
 * The ways a secret could show up in text: hex (both cases), base64 and
 * base64url (padded or not), the decimal list `util.inspect` prints for a
 * Uint8Array, and 12-byte windows of each (a partial leak).
 */
export function secretForms(secret: Uint8Array): string[] {
  const forms = new Set<string>();
  const add = (bytes: Uint8Array) => {
    const b = Buffer.from(bytes);
    forms.add(b.toString('hex'));
    forms.add(b.toString('hex').toUpperCase());
    forms.add(b.toString('base64').replace(/=+$/, ''));
    forms.add(b.toString('base64url'));
  };
  add(secret);
  const window = 12;
  // Base64 of a window at an offset divisible by 3 is a substring of the whole secret's base64.
  for (let offset = 0; offset + window <= secret.length; offset += 3) {
    add(secret.subarray(offset, offset + window));
  }
  if (secret.length >= 8) forms.add([...secret.subarray(0, 8)].join(', '));
  return [...forms].filter((form) => form.length >= 8);
}
