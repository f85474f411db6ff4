import { Fernet } from '@keystore/core';
import { readValue, writeValue } from './value-format.js';

/** A token longer than this is refused before any work: a hostile Redis cannot make us decrypt megabytes. */
export const MAX_TOKEN_CHARS = 1024 * 1024;

export interface ValueCodecOptions {
  /** The Fernet key (32 bytes, or their url-safe base64) every value is encrypted under: from configuration, never from Redis. */
  readonly cacheKey: string | Uint8Array;
  /** No value is older than this, whatever its own expiry says (the cache's longest TTL). */
  readonly maxTtlSeconds: number;
  /** Seconds since the epoch (tests). */
  readonly now?: () => number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Seals cache values for Redis and opens them again: a Fernet token under
 * `cacheKey` over our value format (value-format.ts), which binds the Redis
 * key name and an expiry. Whatever fails to open (another key's value, a
 * tampered or truncated token, another cacheKey, garbage, an expired value)
 * is `undefined`: the caller drops it and counts it, never uses it.
 */
export class ValueCodec {
  readonly #fernet: Fernet;
  readonly #maxTtl: number;
  readonly #now: () => number;

  /** @throws InvalidKey when `cacheKey` is not a Fernet key. */
  constructor(options: ValueCodecOptions) {
    if (!Number.isSafeInteger(options.maxTtlSeconds) || options.maxTtlSeconds < 1) {
      throw new RangeError('maxTtlSeconds must be a whole number of seconds, at least 1');
    }
    this.#fernet = new Fernet(options.cacheKey);
    this.#maxTtl = options.maxTtlSeconds;
    this.#now = options.now ?? nowSeconds;
  }

  /**
   * The token to store under `keyName`, valid for `ttlSeconds` (at most
   * maxTtlSeconds), recording the key generation it was loaded under.
   */
  encode(keyName: string, value: Uint8Array, ttlSeconds: number, generation = 0): string {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > this.#maxTtl) {
      throw new RangeError(`ttlSeconds must be a whole number from 1 to ${this.#maxTtl}`);
    }
    const now = this.#now();
    const plaintext = writeValue({ keyName, expiresAt: now + ttlSeconds, generation, value });
    try {
      return this.#fernet.encryptAtTime(plaintext, now);
    } finally {
      // It holds the value (key material): zeroed once sealed.
      plaintext.fill(0);
    }
  }

  /** The value stored under `keyName`, as a fresh copy the caller owns; `undefined` when the token is refused. */
  decode(keyName: string, token: string): Uint8Array | undefined {
    return this.decodeEntry(keyName, token)?.value;
  }

  /** As `decode`, with the generation the value was loaded under. */
  decodeEntry(keyName: string, token: string): { value: Uint8Array; generation: number } | undefined {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return undefined;
    const now = this.#now();
    let plaintext: Uint8Array;
    try {
      // Fernet's own check refuses a token older than the longest TTL or from the future.
      plaintext = this.#fernet.decryptAtTime(token, this.#maxTtl, now);
    } catch {
      return undefined;
    }
    try {
      const parts = readValue(plaintext);
      if (parts === undefined || parts.expiresAt <= now) return undefined;
      if (!Buffer.from(keyName, 'utf8').equals(parts.keyName)) return undefined;
      return { value: new Uint8Array(parts.value), generation: parts.generation };
    } finally {
      plaintext.fill(0);
    }
  }
}
