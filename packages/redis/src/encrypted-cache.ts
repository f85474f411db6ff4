import type { ValueCodec } from './codec/value-codec.js';
import type { RedisConnection } from './connection/redis-connection.js';
import type { CacheCounters } from './connection/stats.js';

/**
 * Values in Redis under `prefix + name`, each sealed by the codec: what the
 * caching wrapper stores its entries through. A value that fails to open is
 * deleted from Redis (best effort) and counted as dropped, and reads as
 * absent. Redis failing is `RedisUnavailable`: the caller decides between
 * fail-open and fail-closed.
 */
export class EncryptedCache {
  readonly #connection: RedisConnection;
  readonly #codec: ValueCodec;
  readonly #counters: CacheCounters;
  readonly prefix: string;

  constructor(connection: RedisConnection, codec: ValueCodec, counters: CacheCounters, prefix: string) {
    this.#connection = connection;
    this.#codec = codec;
    this.#counters = counters;
    this.prefix = prefix;
  }

  /** The Redis key of an entry. */
  keyName(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** The entry's value (a copy the caller owns), or `undefined` when absent or refused. */
  async get(name: string): Promise<Uint8Array | undefined> {
    const keyName = this.keyName(name);
    const token = await this.#connection.get(keyName);
    if (token === undefined) {
      this.#counters.count('misses');
      return undefined;
    }
    const value = this.#codec.decode(keyName, token);
    if (value === undefined) {
      this.#counters.count('dropped');
      // Gone for the next reader too; a failure here changes nothing for this one.
      this.#connection.del([keyName]).catch(() => {});
      return undefined;
    }
    this.#counters.count('hits');
    return value;
  }

  async set(name: string, value: Uint8Array, ttlSeconds: number): Promise<void> {
    const keyName = this.keyName(name);
    await this.#connection.set(keyName, this.#codec.encode(keyName, value, ttlSeconds), ttlSeconds);
  }

  async delete(names: readonly string[]): Promise<number> {
    return this.#connection.del(names.map((n) => this.keyName(n)));
  }
}
