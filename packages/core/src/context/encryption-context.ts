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
 * What this module knows of a context it made (frozen, keys in canonical
 * order): normalizing it again returns it as it is, and its canonical bytes
 * are computed once. Kept in a module-private WeakMap keyed by the object
 * itself, so nothing outside can forge, copy or change it (a marker on the
 * object, even under a symbol, can be read and copied); a copy of a context
 * is a plain object again, checked anew.
 */
interface Normalized {
  /** Holds a reserved (`keystore:`) key: only calls that allow those take it as it is. */
  readonly reserved: boolean;
  canonical: Buffer | undefined;
}

const normalized = new WeakMap<object, Normalized>();

function normalizedOf(context: object): Normalized | undefined {
  return normalized.get(context);
}

/**
 * Validates a caller's context and returns a frozen copy with sorted keys.
 * Only plain objects of well-formed strings: a Map, a class instance or a
 * lone surrogate would make different contexts look alike. No Unicode
 * normalisation is applied: contexts match byte for byte.
 */
export function normalizeContext(context: unknown, { allowReserved = false } = {}): EncryptionContext {
  if (context === undefined || context === null) return EMPTY;
  if (typeof context === 'object') {
    const known = normalizedOf(context);
    if (known !== undefined && (allowReserved || !known.reserved)) return context as EncryptionContext;
  }
  if (typeof context !== 'object' || Array.isArray(context) || !isPlainObject(context)) {
    throw new InvalidArgument('context must be a plain object of string keys and string values');
  }
  const entries = Object.entries(context as Record<string, unknown>);
  const limit = allowReserved ? MAX_ENTRIES + RESERVED_ALLOWANCE : MAX_ENTRIES;
  if (entries.length > limit) throw new InvalidArgument(`context has more than ${MAX_ENTRIES} entries`);
  const out: Record<string, string> = {};
  let reserved = false;
  for (const [key, value] of entries.sort(([a], [b]) => compareUtf8(a, b))) {
    if (key.length === 0 || key.length > MAX_LENGTH || LONE_SURROGATE.test(key)) {
      throw new InvalidArgument(`context keys must be 1 to ${MAX_LENGTH} characters of well-formed Unicode`);
    }
    if (typeof value !== 'string' || value.length > MAX_LENGTH || LONE_SURROGATE.test(value)) {
      throw new InvalidArgument(
        `context value of '${key}' must be a string of at most ${MAX_LENGTH} characters of well-formed Unicode`,
      );
    }
    if (key.startsWith(RESERVED_PREFIX)) {
      if (!allowReserved) {
        throw new InvalidArgument(`context keys starting with '${RESERVED_PREFIX}' are reserved`);
      }
      reserved = true;
    }
    // defineProperty, not assignment: a key named __proto__ must be an entry, not a prototype change.
    Object.defineProperty(out, key, { value, enumerable: true, writable: false, configurable: false });
  }
  return register(out, reserved);
}

/** Marks a context this module built and freezes it. */
function register(context: Record<string, string>, reserved: boolean): EncryptionContext {
  const frozen = Object.freeze(context);
  normalized.set(frozen, { reserved, canonical: undefined });
  return frozen;
}

const EMPTY: EncryptionContext = register({}, false);

/**
 * A normalized context with one reserved entry added (`keystore:alg`, which
 * the library binds besides the caller's context), in canonical order,
 * without validating the caller's entries again.
 */
export function withReservedEntry(context: EncryptionContext, key: string, value: string): EncryptionContext {
  if (!key.startsWith(RESERVED_PREFIX)) throw new InvalidArgument(`'${key}' is not a reserved context key`);
  const base = normalizeContext(context, { allowReserved: true });
  const out: Record<string, string> = {};
  let placed = false;
  const put = (k: string, v: string) =>
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: false, configurable: false });
  for (const k of Object.keys(base)) {
    const order = compareUtf8(key, k);
    if (order === 0) throw new InvalidArgument(`context key '${key}' is given twice`);
    if (!placed && order < 0) {
      put(key, value);
      placed = true;
    }
    put(k, base[k] as string);
  }
  if (!placed) put(key, value);
  return register(out, true);
}

/**
 * Compares two strings by their UTF-8 bytes without encoding them: UTF-8
 * order is code point order, which UTF-16 code units follow except that
 * surrogates (U+D800-DFFF, halves of code points above U+FFFF) must sort
 * after U+E000-FFFF.
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x < 0xe000 ? 0x2000 : -0x800;
      y += y < 0xe000 ? 0x2000 : -0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The canonical bytes of a context: entries sorted by the UTF-8 bytes of
 * their keys, each written as u32 key length, key, u32 value length, value
 * (big-endian lengths, UTF-8 strings). Unambiguous and easy to reproduce in
 * any language (see docs/envelope-format.md).
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  return Buffer.from(canonicalBytes(context));
}

/** `canonicalContext`, computed once per normalized context; the caller must not change the buffer. @internal */
export function canonicalBytes(context: EncryptionContext): Buffer {
  const known = normalizedOf(context);
  if (known?.canonical !== undefined) return known.canonical;
  const keys = Object.keys(context);
  // A context of ours already has its keys in canonical order.
  if (known === undefined) keys.sort(compareUtf8);
  let length = 0;
  for (const key of keys)
    length += 8 + Buffer.byteLength(key, 'utf8') + Buffer.byteLength(context[key] as string, 'utf8');
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  for (const key of keys) {
    for (const s of [key, context[key] as string]) {
      const n = out.write(s, o + 4, 'utf8');
      out.writeUInt32BE(n, o);
      o += 4 + n;
    }
  }
  if (known !== undefined) known.canonical = out;
  return out;
}

/** SHA-256 of the canonical bytes: what an envelope records of its context. */
export function contextDigest(context: EncryptionContext): Buffer {
  return createHash('sha256').update(canonicalBytes(context)).digest();
}
