import { NEXT_GENERATION, parseGeneration, SET_IF_GENERATION } from './cache/generations.js';
import type { ValueCodec } from './codec/value-codec.js';
import type { RedisConnection } from './connection/redis-connection.js';
import type { CacheCounters } from './connection/stats.js';

/** An entry read together with its key's generation counter. */
export interface GenerationRead {
  /** The value (a copy the caller owns), when present, opened, and of the current generation. */
  readonly value?: Uint8Array;
  /** A value was there, loaded under another generation: invalidated since (not tampering). */
  readonly outdated: boolean;
  /** The counter now (0 when absent); undefined when it is not a counter: then nothing is stored. */
  readonly generation: number | undefined;
}

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

  /** The entry and its key's generation counter (`counter`: its entry name), in one MGET. */
  async read(name: string, counter: string): Promise<GenerationRead> {
    const keyName = this.keyName(name);
    const [token, current] = await this.#connection.mget([keyName, this.keyName(counter)]);
    const generation = parseGeneration(current);
    if (token === undefined) {
      this.#counters.count('misses');
      return { outdated: false, generation };
    }
    const entry = this.#codec.decodeEntry(keyName, token);
    if (entry === undefined) {
      this.#counters.count('dropped');
      this.#connection.del([keyName]).catch(() => {});
      return { outdated: false, generation };
    }
    if (entry.generation !== generation) {
      // Left for the next conditional SET to overwrite: a DEL here could remove a fresh one.
      entry.value.fill(0);
      this.#counters.count('misses');
      return { outdated: true, generation };
    }
    this.#counters.count('hits');
    return { value: entry.value, outdated: false, generation };
  }

  /** Stores the value only while the counter still reads `generation`; whether it did. */
  async setIfGeneration(
    name: string,
    counter: string,
    value: Uint8Array,
    ttlSeconds: number,
    generation: number,
    counterTtlSeconds: number,
  ): Promise<boolean> {
    const keyName = this.keyName(name);
    const token = this.#codec.encode(keyName, value, ttlSeconds, generation);
    const reply = await this.#connection.eval(
      SET_IF_GENERATION,
      [keyName, this.keyName(counter)],
      [token, ttlSeconds, String(generation), counterTtlSeconds],
    );
    return Number(reply) === 1;
  }

  /** Counts the key's generation up (every copy in Redis is unreadable then) and DELs `names`. */
  async nextGeneration(counter: string, names: readonly string[], counterTtlSeconds: number): Promise<void> {
    const keys = [counter, ...names].map((n) => this.keyName(n));
    await this.#connection.eval(NEXT_GENERATION, keys, [counterTtlSeconds]);
  }
}
