import type { EncryptedCache } from '../encrypted-cache.js';
import { RedisUnavailable } from '../errors.js';
import type { WrapperCounters } from './cache-stats.js';
import type { L1Cache } from './l1-cache.js';
import { SingleFlight } from './single-flight.js';

interface Lookup {
  readonly value?: Uint8Array;
  /** The invalidation epoch when the lookup began. */
  readonly epoch: number;
  /** Whether Redis answered (a value loaded then is stored there too). */
  readonly redisUp: boolean;
}

export type OnRedisError = 'fail-open' | 'fail-closed';

export interface TieredCacheOptions {
  readonly l1: L1Cache;
  readonly redis: EncryptedCache;
  readonly ttlSeconds: number;
  readonly onRedisError: OnRedisError;
  readonly counters: WrapperCounters;
  /** Redis entries of a tag that may exist whatever this process's L1 holds (a material entry's name). */
  readonly namesOfTag?: (tag: string) => readonly string[];
  /** Tells other processes to drop a tag (publish); best effort like every other Redis write. */
  readonly announce?: (tag: string) => Promise<void>;
  /** Told of every local drop (a tag; undefined: everything), for what is kept beside the tiers (reused data keys). */
  readonly onDrop?: (tag: string | undefined) => void;
}

/**
 * L1, then Redis, then the loader, for one entry name; concurrent misses of
 * one name share one load. What a load brings is stored in Redis (encrypted
 * by the EncryptedCache) and in the L1, unless an invalidation happened while
 * it ran: an epoch counted up by every invalidation says so, and a value
 * loaded before the change is never stored (only returned to its callers).
 *
 * Redis failing: fail-open counts it and goes on without Redis; fail-closed
 * fails the call with the RedisUnavailable (a ProviderUnavailable). A value
 * that fails to open is dropped by the EncryptedCache, or by `accept` here.
 */
export class TieredCache {
  readonly #o: TieredCacheOptions;
  readonly #flights = new SingleFlight();
  #epoch = 0;

  constructor(options: TieredCacheOptions) {
    this.#o = options;
  }

  /**
   * The entry's value as a fresh copy the caller owns, or `undefined` when
   * the loader has none (never cached). `load` returns bytes this cache then
   * owns (and zeroes). `accept` checks a value from Redis beyond its seal.
   */
  async get(
    name: string,
    tag: string,
    load: () => Promise<Uint8Array | undefined>,
    accept: (value: Uint8Array) => boolean = () => true,
  ): Promise<Uint8Array | undefined> {
    const hit = this.#o.l1.get(name);
    if (hit !== undefined) {
      this.#o.counters.count('l1Hits');
      return hit;
    }
    return this.#flights.run(name, () => this.#miss(name, tag, load, accept));
  }

  async #miss(
    name: string,
    tag: string,
    load: () => Promise<Uint8Array | undefined>,
    accept: (value: Uint8Array) => boolean,
  ): Promise<Uint8Array | undefined> {
    const found = await this.#lookup(name, tag, accept);
    if (found.value !== undefined) return found.value;
    this.#o.counters.count('misses');
    const value = await load();
    if (value !== undefined) await this.#store(name, tag, value, found);
    return value;
  }

  /**
   * The batch form: one result per item, in order; `loadMany` gets the
   * indexes of the items neither the L1 nor Redis had. No single flight
   * across batches; a failed item is an Error in its slot and never cached.
   */
  async getMany(
    items: readonly { readonly name: string; readonly tag: string }[],
    loadMany: (indexes: readonly number[]) => Promise<(Uint8Array | Error)[]>,
  ): Promise<(Uint8Array | Error)[]> {
    const results: (Uint8Array | Error | undefined)[] = items.map(({ name }) => this.#o.l1.get(name));
    const lookups = new Map<number, Lookup>();
    await Promise.all(
      items.map(async ({ name, tag }, i) => {
        if (results[i] !== undefined) {
          this.#o.counters.count('l1Hits');
          return;
        }
        try {
          const found = await this.#lookup(name, tag, () => true);
          if (found.value === undefined) lookups.set(i, found);
          else results[i] = found.value;
        } catch (error) {
          results[i] = error instanceof Error ? error : new Error('the cache failed');
        }
      }),
    );
    const missing = [...lookups.keys()].sort((a, b) => a - b);
    if (missing.length > 0) {
      for (const _ of missing) this.#o.counters.count('misses');
      const loaded = await loadMany(missing);
      await Promise.all(
        missing.map(async (index, j) => {
          const value = loaded[j];
          const item = items[index] as (typeof items)[number];
          results[index] = value ?? new Error('the provider gave no result for this item');
          if (!(value instanceof Uint8Array)) return;
          try {
            await this.#store(item.name, item.tag, value, lookups.get(index) as Lookup);
          } catch (error) {
            value.fill(0);
            results[index] = error instanceof Error ? error : new Error('the cache failed');
          }
        }),
      );
    }
    return results as (Uint8Array | Error)[];
  }

  /** L1 missed: Redis, when it answers. */
  async #lookup(name: string, tag: string, accept: (value: Uint8Array) => boolean): Promise<Lookup> {
    const epoch = this.#epoch;
    try {
      const value = await this.#o.redis.get(name);
      if (value !== undefined && accept(value)) {
        this.#o.counters.count('redisHits');
        if (epoch === this.#epoch) this.#o.l1.set(name, tag, value);
        return { value, epoch, redisUp: true };
      }
      if (value !== undefined) {
        value.fill(0);
        this.#o.counters.count('dropped');
        await this.#o.redis.delete([name]).catch(() => {});
      }
      return { epoch, redisUp: true };
    } catch (error) {
      this.#redisFailed(error);
      return { epoch, redisUp: false };
    }
  }

  /** Stores what a load brought (a copy in each tier), unless an invalidation came first. */
  async #store(name: string, tag: string, value: Uint8Array, { epoch, redisUp }: Lookup): Promise<void> {
    if (epoch !== this.#epoch) return;
    if (redisUp) {
      try {
        await this.#o.redis.set(name, value, this.#o.ttlSeconds);
      } catch (error) {
        this.#redisFailed(error);
      }
      // Invalidated while the SET ran: the value may be stale, and must not outlive the change.
      if (epoch !== this.#epoch) {
        await this.#o.redis.delete([name]).catch((error: unknown) => this.#redisFailed(error));
        return;
      }
    }
    this.#o.l1.set(name, tag, value);
  }

  /** Counts a Redis failure; rethrows it for fail-closed, and anything that is not one. */
  #redisFailed(error: unknown): void {
    if (!(error instanceof RedisUnavailable)) throw error;
    this.#o.counters.count('errors');
    if (this.#o.onRedisError === 'fail-closed') throw error;
  }

  /**
   * Drops the tag's entries here and in Redis, and tells other processes
   * (`announce`). Fail-open: a Redis failure is counted, and what Redis
   * still holds expires within `ttlSeconds`; fail-closed: it is thrown.
   */
  async invalidate(tag: string): Promise<void> {
    const names = this.#dropLocal(tag);
    try {
      await this.#o.redis.delete(names);
    } catch (error) {
      this.#redisFailed(error);
    }
    try {
      await this.#o.announce?.(tag);
    } catch (error) {
      this.#redisFailed(error);
    }
  }

  /** This process found the tag's entry stale: drop it here and in Redis, without telling anyone. */
  async forget(tag: string): Promise<void> {
    try {
      await this.#o.redis.delete(this.#dropLocal(tag));
    } catch (error) {
      this.#redisFailed(error);
    }
  }

  /** Another process changed a tag's key: drop it here, and its Redis entries this process knew of. */
  heard(tag: string): void {
    const names = this.#dropLocal(tag);
    // Closes the race of a value loaded before the change and SET after the changer's DEL.
    this.#o.redis.delete(names).catch(() => {});
  }

  #dropLocal(tag: string): string[] {
    this.#epoch++;
    this.#flights.forgetAll();
    this.#o.counters.count('invalidations');
    this.#o.onDrop?.(tag);
    const names = new Set([...this.#o.l1.dropTag(tag), ...(this.#o.namesOfTag?.(tag) ?? [])]);
    return [...names];
  }

  /** Messages may have been missed (a pub/sub gap): nothing in the L1 is trusted any more. */
  clearLocal(): void {
    this.#epoch++;
    this.#flights.forgetAll();
    this.#o.l1.clear();
    this.#o.onDrop?.(undefined);
  }
}
