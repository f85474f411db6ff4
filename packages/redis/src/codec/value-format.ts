/**
 * The plaintext inside a cached value's Fernet token:
 *
 * ```
 * byte 0        format version (VALUE_FORMAT_VERSION)
 * bytes 1..8    expiry: seconds since the epoch, unsigned big-endian
 * bytes 9..16   generation of the entry's key when it was loaded, unsigned big-endian
 * bytes 17..18  length n of the Redis key name, unsigned big-endian
 * bytes 19..    the Redis key name (UTF-8, n bytes), then the value
 * ```
 *
 * The key name is inside the authenticated token, so a value copied or
 * renamed to another key (by anyone who can write to Redis) is refused; the
 * expiry is too, so a value Redis keeps longer than its TTL (a restored
 * snapshot, a PERSIST) is refused as well; and the generation is, so a value
 * loaded before an invalidation cannot be relabelled as loaded after it.
 * Version 1 had no generation: its values are refused (and live under other
 * names anyway).
 */
export const VALUE_FORMAT_VERSION = 2;
export const HEADER_LENGTH = 19;
/** Where the key name's length is (tests forge headers). */
export const NAME_LENGTH_OFFSET = 17;
/** Redis allows longer names; ours (prefix, namespace, digest) stay far below this. */
export const MAX_KEY_NAME_BYTES = 1024;

export interface ValueParts {
  readonly keyName: string;
  readonly expiresAt: number;
  /** The key's invalidation generation the value was loaded under (0 when not given). */
  readonly generation?: number;
  readonly value: Uint8Array;
}

/** What `readValue` finds: the key name as its bytes, compared as bytes (no UTF-8 decoding). */
export interface ReadParts {
  readonly keyName: Uint8Array;
  readonly expiresAt: number;
  readonly generation: number;
  readonly value: Uint8Array;
}

/** The plaintext for `parts`, in a buffer the caller zeroes once it is encrypted. */
export function writeValue(parts: ValueParts): Buffer {
  const name = Buffer.from(parts.keyName, 'utf8');
  if (name.length > MAX_KEY_NAME_BYTES) {
    throw new RangeError(`a cache key name is at most ${MAX_KEY_NAME_BYTES} bytes`);
  }
  const generation = parts.generation ?? 0;
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new RangeError('a generation is a whole number, at least 0');
  }
  const out = Buffer.alloc(HEADER_LENGTH + name.length + parts.value.length);
  out[0] = VALUE_FORMAT_VERSION;
  out.writeBigUInt64BE(BigInt(parts.expiresAt), 1);
  out.writeBigUInt64BE(BigInt(generation), 9);
  out.writeUInt16BE(name.length, NAME_LENGTH_OFFSET);
  name.copy(out, HEADER_LENGTH);
  out.set(parts.value, HEADER_LENGTH + name.length);
  return out;
}

/**
 * The parts of a decrypted plaintext, or `undefined` when it is not of our
 * format. Name and value are views into `plaintext`.
 */
export function readValue(plaintext: Uint8Array): ReadParts | undefined {
  if (plaintext.length < HEADER_LENGTH || plaintext[0] !== VALUE_FORMAT_VERSION) return undefined;
  const view = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length);
  const expiresAt = view.readBigUInt64BE(1);
  const generation = view.readBigUInt64BE(9);
  const nameLength = view.readUInt16BE(NAME_LENGTH_OFFSET);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (expiresAt > max || generation > max || HEADER_LENGTH + nameLength > view.length) {
    return undefined;
  }
  return {
    expiresAt: Number(expiresAt),
    generation: Number(generation),
    keyName: view.subarray(HEADER_LENGTH, HEADER_LENGTH + nameLength),
    value: view.subarray(HEADER_LENGTH + nameLength),
  };
}
