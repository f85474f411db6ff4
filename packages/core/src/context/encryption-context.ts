import { createHash } from 'node:crypto';
import { InvalidArgument } from '../errors/keystore-error.js';

/**
 * Additional authenticated data: string keys and values that are bound to a
 * wrapped key and must be given again, identical, to unwrap it. Not secret
 * (KMS logs it), so never put secrets in a context.
 */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Prefix reserved for entries the library itself adds. */
export const RESERVED_PREFIX = 'keystore:';
const MAX_ENTRIES = 64;
const MAX_LENGTH = 1024;

/** Validates a caller's context; returns a frozen copy with sorted keys. */
export function normalizeContext(context: unknown, { allowReserved = false } = {}): EncryptionContext {
  if (context === undefined || context === null) return Object.freeze({});
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new InvalidArgument('context must be an object of string keys and string values');
  }
  const entries = Object.entries(context as Record<string, unknown>);
  if (entries.length > MAX_ENTRIES) throw new InvalidArgument(`context has more than ${MAX_ENTRIES} entries`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => compareUtf8(a, b))) {
    if (key.length === 0 || key.length > MAX_LENGTH) {
      throw new InvalidArgument(`context keys must be 1 to ${MAX_LENGTH} characters`);
    }
    if (typeof value !== 'string' || value.length > MAX_LENGTH) {
      throw new InvalidArgument(
        `context value of '${key}' must be a string of at most ${MAX_LENGTH} characters`,
      );
    }
    if (!allowReserved && key.startsWith(RESERVED_PREFIX)) {
      throw new InvalidArgument(`context keys starting with '${RESERVED_PREFIX}' are reserved`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The canonical bytes of a context: entries sorted by the UTF-8 bytes of
 * their keys, each written as u32 key length, key, u32 value length, value
 * (big-endian lengths, UTF-8 strings). Unambiguous and easy to reproduce in
 * any language (see docs/envelope-format.md).
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  const parts: Buffer[] = [];
  const keys = Object.keys(context).sort((a, b) => compareUtf8(a, b));
  for (const key of keys) {
    for (const s of [key, context[key] as string]) {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(bytes.length, 0);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** SHA-256 of the canonical bytes: what an envelope records of its context. */
export function contextDigest(context: EncryptionContext): Buffer {
  return createHash('sha256').update(canonicalContext(context)).digest();
}
