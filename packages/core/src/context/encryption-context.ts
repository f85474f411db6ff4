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

/** Entries the library itself may add (`keystore:alg`), on top of the caller's limit. */
const RESERVED_ALLOWANCE = 8;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Lone UTF-16 surrogates: UTF-8 would turn them into U+FFFD, so two contexts could encode alike. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Validates a caller's context and returns a frozen copy with sorted keys.
 * Only plain objects of well-formed strings: a Map, a class instance or a
 * lone surrogate would make different contexts look alike. No Unicode
 * normalisation is applied: contexts match byte for byte.
 */
export function normalizeContext(context: unknown, { allowReserved = false } = {}): EncryptionContext {
  if (context === undefined || context === null) return Object.freeze({});
  if (typeof context !== 'object' || Array.isArray(context) || !isPlainObject(context)) {
    throw new InvalidArgument('context must be a plain object of string keys and string values');
  }
  const entries = Object.entries(context as Record<string, unknown>);
  const limit = allowReserved ? MAX_ENTRIES + RESERVED_ALLOWANCE : MAX_ENTRIES;
  if (entries.length > limit) throw new InvalidArgument(`context has more than ${MAX_ENTRIES} entries`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => compareUtf8(a, b))) {
    if (key.length === 0 || key.length > MAX_LENGTH || LONE_SURROGATE.test(key)) {
      throw new InvalidArgument(`context keys must be 1 to ${MAX_LENGTH} characters of well-formed Unicode`);
    }
    if (typeof value !== 'string' || value.length > MAX_LENGTH || LONE_SURROGATE.test(value)) {
      throw new InvalidArgument(
        `context value of '${key}' must be a string of at most ${MAX_LENGTH} characters of well-formed Unicode`,
      );
    }
    if (!allowReserved && key.startsWith(RESERVED_PREFIX)) {
      throw new InvalidArgument(`context keys starting with '${RESERVED_PREFIX}' are reserved`);
    }
    // defineProperty, not assignment: a key named __proto__ must be an entry, not a prototype change.
    Object.defineProperty(out, key, { value, enumerable: true, writable: false, configurable: false });
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
