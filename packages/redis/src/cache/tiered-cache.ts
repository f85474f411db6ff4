import type { EncryptedCache } from '../encrypted-cache.js';
import { RedisUnavailable } from '../errors.js';
import type { WrapperCounters } from './cache-stats.js';
import { generationName } from './entry-names.js';
import type { EventLoopTurns } from './event-loop-turns.js';
import { GENERATION_TTL_FACTOR } from './generations.js';
import type { L1Cache } from './l1-cache.js';
import { SingleFlight } from './single-flight.js';
import { TagEpochs } from './tag-epochs.js';

interface Lookup {
  readonly value?: Uint8Array;
  /** Where the tag epochs were when the lookup began. */
  readonly mark: number;
  /**
   * The key's generation in Redis when the lookup began: a value loaded then
   * is stored there only while it still is. Undefined: Redis did not answer
   * (or the counter was not one), nothing goes to Redis.
   */
  readonly generation?: number;
}

/** A key is reloaded for one missing version at most this often: each time costs a store load. */
export const FORGET_INTERVAL_MS = 1000;
/**
 * And for all its missing versions together at most this many times in such
 * an interval: several rotations elsewhere within a second each get their
 * reload, while envelopes naming ever other versions nobody has cannot make
 * every call a store load.
 */
export const MAX_FORGETS_PER_INTERVAL = 8;
/** Keys (and key versions) whose reloads are remembered; one pushed out may be reloaded again at once. */
const MAX_FORGOTTEN = 1000;

export type OnRedisError = 'fail-open' | 'fail-closed';

/**
 * Where an entry is: its L1 key, and its Redis name, computed only when the
 * L1 misses (a data key's name is a SHA-256; its L1 key a plain string of
 * the same parts). A string is both.
 */
export type EntryRef = string | { readonly key: string; readonly name: () => string };

const keyOf = (ref: EntryRef): string => (typeof ref === 'string' ? ref : ref.key);
const nameOf = (ref: EntryRef): string => (typeof ref === 'string' ? ref : ref.name());

export interface TieredCacheOptions {
  readonly l1: L1Cache;
  /** Lets the event loop read invalidations during a long run of L1 hits (absent: never). */
  readonly turns?: EventLoopTurns;
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
  /** Milliseconds, monotonic (tests). */
  readonly now?: () => number;
}

/**
 * L1, then Redis, then the loader, for one entry name; concurrent misses of
 * one name share one load. What a load brings is stored in Redis (encrypted
 * by the EncryptedCache) and in the L1, unless an invalidation happened while
 * it ran, and a value loaded before the change is never stored (only
 * returned to its callers). In this process, per-tag epochs say so; across
 * processes, the key's generation in Redis (generations.ts): a Redis entry
 * is read with it in one MGET and used only when it is current, and stored
 * with a SET that only happens while the generation is the one the lookup
 * read.
 *
 * Redis failing: fail-open counts it and goes on without Redis; fail-closed
 * fails the call with the RedisUnavailable (a ProviderUnavailable). A value
 * that fails to open is dropped by the EncryptedCache, or by `accept` here.
 */
export class TieredCache {
  readonly #o: TieredCacheOptions;
  readonly #flights = new SingleFlight();
  readonly #epochs = new TagEpochs();
  /** When each tag and version was last reloaded for staleness (insertion order: oldest first). */
  readonly #forgotten = new Map<string, number>();
  /** Each tag's reloads in its current interval: when it began, and how many. */
  readonly #forgets = new Map<string, { since: number; count: number }>();
  readonly #now: () => number;

  constructor(options: TieredCacheOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  get #counterTtlSeconds(): number {
    return GENERATION_TTL_FACTOR * this.#o.ttlSeconds;
  }

  /**
   * The entry's value as a fresh copy the caller owns, or `undefined` when
   * the loader has none (never cached). `load` returns bytes this cache then
   * owns (and zeroes). `accept` checks a value from Redis beyond its seal.
   */
  async get(
    ref: EntryRef,
    tag: string,
    load: () => Promise<Uint8Array | undefined>,
    accept: (value: Uint8Array) => boolean = () => true,
  ): Promise<Uint8Array | undefined> {
    if (this.#o.turns?.needsTurn()) await this.#o.turns.turn();
    const key = keyOf(ref);
    const hit = this.#o.l1.get(key);
    if (hit !== undefined) {
      this.#o.counters.count('l1Hits');
      return hit;
    }
    return this.#flights.run(key, () => this.#miss(key, nameOf(ref), tag, load, accept), tag);
  }

  async #miss(
    key: string,
    name: string,
    tag: string,
    load: () => Promise<Uint8Array | undefined>,
    accept: (value: Uint8Array) => boolean,
  ): Promise<Uint8Array | undefined> {
    const found = await this.#lookup(key, name, tag, accept);
    if (found.value !== undefined) return found.value;
    this.#o.counters.count('misses');
    const value = await load();
    if (value === undefined) return value;
    try {
      await this.#store(key, name, tag, value, found);
    } catch (error) {
      // Ours (`load` hands its bytes over), and nobody else will see them: a failed store must zero them.
      value.fill(0);
      throw error;
    }
    return value;
  }

  /**
   * The batch form: one result per item, in order; `loadMany` gets the
   * indexes of the items neither the L1 nor Redis had. No single flight
   * across batches; a failed item is an Error in its slot and never cached.
   */
  async getMany(
    items: readonly { readonly ref: EntryRef; readonly tag: string }[],
    loadMany: (indexes: readonly number[]) => Promise<(Uint8Array | Error)[]>,
  ): Promise<(Uint8Array | Error)[]> {
    if (this.#o.turns?.needsTurn()) await this.#o.turns.turn();
    const results: (Uint8Array | Error | undefined)[] = items.map(({ ref }) => this.#o.l1.get(keyOf(ref)));
    const names = new Map<number, string>();
    const lookups = new Map<number, Lookup>();
    await Promise.all(
      items.map(async ({ ref, tag }, i) => {
        if (results[i] !== undefined) {
          this.#o.counters.count('l1Hits');
          return;
        }
        try {
          const name = nameOf(ref);
          names.set(i, name);
          const found = await this.#lookup(keyOf(ref), name, tag, () => true);
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
      let loaded: (Uint8Array | Error)[];
      try {
        loaded = await loadMany(missing);
      } catch (error) {
        // The whole call fails: the data keys found in the L1 and Redis never reach anyone, so zero them.
        for (const result of results) if (result instanceof Uint8Array) result.fill(0);
        throw error;
      }
      await Promise.all(
        missing.map(async (index, j) => {
          const value = loaded[j];
          const item = items[index] as (typeof items)[number];
          results[index] = value ?? new Error('the provider gave no result for this item');
          if (!(value instanceof Uint8Array)) return;
          try {
            const name = names.get(index) as string;
            await this.#store(keyOf(item.ref), name, item.tag, value, lookups.get(index) as Lookup);
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
  async #lookup(
    key: string,
    name: string,
    tag: string,
    accept: (value: Uint8Array) => boolean,
  ): Promise<Lookup> {
    const mark = this.#epochs.mark();
    try {
      const { value, outdated, generation } = await this.#o.redis.read(name, generationName(tag));
      // Another process invalidated the key since this entry was loaded: a miss, not tampering.
      if (outdated) this.#o.counters.count('invalidations');
      if (value !== undefined && accept(value)) {
        this.#o.counters.count('redisHits');
        if (!this.#epochs.changedSince(tag, mark)) this.#o.l1.set(key, tag, value, name);
        return { value, mark };
      }
      if (value !== undefined) {
        value.fill(0);
        this.#o.counters.count('dropped');
        await this.#o.redis.delete([name]).catch(() => {});
      }
      return generation === undefined ? { mark } : { mark, generation };
    } catch (error) {
      this.#redisFailed(error);
      return { mark };
    }
  }

  /** Stores what a load brought (a copy in each tier), unless an invalidation came first. */
  async #store(
    key: string,
    name: string,
    tag: string,
    value: Uint8Array,
    { mark, generation }: Lookup,
  ): Promise<void> {
    if (this.#epochs.changedSince(tag, mark)) return;
    if (generation !== undefined) {
      let refused = false;
      try {
        refused = !(await this.#o.redis.setIfGeneration(
          name,
          generationName(tag),
          value,
          this.#o.ttlSeconds,
          generation,
          this.#counterTtlSeconds,
        ));
      } catch (error) {
        this.#redisFailed(error);
      }
      // Refused: some process invalidated the key since the lookup began, so the value may be stale.
      if (refused) {
        this.#o.counters.count('invalidations');
        return;
      }
    }
    // Invalidated here while the SET ran: Redis's generation has moved on; the L1 must not keep it either.
    if (this.#epochs.changedSince(tag, mark)) return;
    this.#o.l1.set(key, tag, value, name);
  }

  /** Counts a Redis failure; rethrows it for fail-closed, and anything that is not one. */
  #redisFailed(error: unknown): void {
    if (!(error instanceof RedisUnavailable)) throw error;
    this.#o.counters.count('errors');
    if (this.#o.onRedisError === 'fail-closed') throw error;
  }

  /**
   * Counts the key's generation up in Redis (every process's entries of the
   * tag are unreadable from then on, and DELs those this process knows of),
   * drops the tag here, and tells other processes (`announce`). Fail-open: a
   * Redis failure is counted, and what Redis still holds expires within
   * `ttlSeconds`; fail-closed: it is thrown (after the local drop and the announcement).
   */
  async invalidate(tag: string): Promise<void> {
    const names = new Set([...this.#o.l1.namesOf(tag), ...(this.#o.namesOfTag?.(tag) ?? [])]);
    let failure: unknown;
    try {
      // Before the local drop: a lookup starting after it must not find the old entry in Redis still current.
      await this.#o.redis.nextGeneration(generationName(tag), [...names], this.#counterTtlSeconds);
    } catch (error) {
      failure = error ?? new Error('the cache failed');
    }
    this.#dropLocal(tag);
    // Announced also when the count failed (fail-closed throws after): the change stands, other processes must drop it.
    let unannounced: unknown;
    try {
      await this.#o.announce?.(tag);
    } catch (error) {
      unannounced = error ?? new Error('the cache failed');
    }
    if (failure !== undefined) this.#redisFailed(failure);
    if (unannounced !== undefined) this.#redisFailed(unannounced);
  }

  /**
   * This process found the tag's entry stale (it lacks `version`): drop it
   * here and in Redis, without telling anyone; false (nothing done) when it
   * was dropped for that version less than FORGET_INTERVAL_MS ago, or for
   * MAX_FORGETS_PER_INTERVAL versions, so that envelopes naming versions
   * nobody has cannot make every call a store load.
   */
  async forget(tag: string, version?: number): Promise<boolean> {
    const now = this.#now();
    const which = version === undefined ? tag : `${tag}#${version}`;
    const last = this.#forgotten.get(which);
    if (last !== undefined && now - last < FORGET_INTERVAL_MS) return false;
    let window = this.#forgets.get(tag);
    if (window === undefined || now - window.since >= FORGET_INTERVAL_MS) window = { since: now, count: 0 };
    if (window.count >= MAX_FORGETS_PER_INTERVAL) return false;
    window.count++;
    remember(this.#forgets, tag, window);
    remember(this.#forgotten, which, now);
    const names = new Set([...this.#o.l1.namesOf(tag), ...(this.#o.namesOfTag?.(tag) ?? [])]);
    this.#dropLocal(tag);
    try {
      await this.#o.redis.delete([...names]);
    } catch (error) {
      this.#redisFailed(error);
    }
    return true;
  }

  /** Where the tag epochs are now, for `changedSince`. */
  mark(): number {
    return this.#epochs.mark();
  }

  /** Whether the tag was dropped here (invalidated, heard, forgotten, a gap) since `mark`. */
  changedSince(tag: string, mark: number): boolean {
    return this.#epochs.changedSince(tag, mark);
  }

  /**
   * Another process changed a tag's key: drop it here. Redis needs nothing:
   * the changer counted the generation up before it published, which makes
   * the old entries unreadable and refuses a late SET of a value loaded before.
   */
  heard(tag: string): void {
    this.#dropLocal(tag);
  }

  #dropLocal(tag: string): void {
    this.#epochs.drop(tag);
    this.#flights.forgetTag(tag);
    this.#o.counters.count('invalidations');
    this.#o.onDrop?.(tag);
    this.#o.l1.dropTag(tag);
  }

  /** Messages may have been missed (a pub/sub gap): nothing in the L1 is trusted any more. */
  clearLocal(): void {
    this.#epochs.dropAll();
    this.#flights.forgetAll();
    this.#o.l1.clear();
    this.#o.onDrop?.(undefined);
  }
}

/** Sets `key` as the newest entry of `map`, dropping the oldest past MAX_FORGOTTEN. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  for (const [oldest] of map) {
    if (map.size <= MAX_FORGOTTEN) break;
    map.delete(oldest);
  }
}
