import { createMaterialProvider, type KeyProvider, materialStoreOf } from '@keystore/core/provider';
import type { RedisConnection } from '../connection/redis-connection.js';
import type { CacheCounters } from '../connection/stats.js';
import type { EncryptedCache } from '../encrypted-cache.js';
import { DataKeyReuse } from '../reuse/data-key-reuse.js';
import type { DataKeyReuseLimits } from '../reuse/reuse-limits.js';
import { reusingDataKeys } from '../reuse/reusing-provider.js';
import { type CachedProviderStats, WrapperCounters } from './cache-stats.js';
import { cachingProvider } from './caching-provider.js';
import { cachingStore } from './caching-store.js';
import { materialEntryName } from './entry-names.js';
import { EventLoopTurns } from './event-loop-turns.js';
import { InvalidationChannel } from './invalidation-channel.js';
import { L1Cache } from './l1-cache.js';
import { retryingStale } from './retry-stale.js';
import { type OnRedisError, TieredCache } from './tiered-cache.js';

/** A provider behind the cache: answers as the provider would, and says what the cache did. */
export interface CachedProvider extends KeyProvider {
  stats(): CachedProviderStats;
}

/** When a configuration gives no `l1`: small, and young enough that a missed invalidation soon ends. */
export const DEFAULT_L1 = { maxEntries: 1000, ttlSeconds: 30 } as const;

/** How often expired L1 entries and reused data keys are zeroed and dropped, whether or not anyone asks for them. */
export const SWEEP_INTERVAL_MS = 1000;

export interface CachedProviderOptions {
  readonly connection: RedisConnection;
  /** The encrypted values under `prefix + namespace + ':'`. */
  readonly cache: EncryptedCache;
  /** The connection's counters (the EncryptedCache counts dropped values there). */
  readonly counters: CacheCounters;
  /** The cache's prefix: the invalidation channel is `<prefix>invalidate`. */
  readonly prefix: string;
  readonly namespace: string;
  readonly ttlSeconds: number;
  readonly l1?: { readonly maxEntries: number; readonly ttlSeconds: number };
  readonly onRedisError: OnRedisError;
  /** Off when absent: every encryption gets a fresh data key. */
  readonly dataKeyReuse?: DataKeyReuseLimits;
  /** Default SWEEP_INTERVAL_MS (tests). */
  readonly sweepIntervalMs?: number;
  /** Milliseconds, monotonic, for the L1 and staleness limits (tests). */
  readonly now?: () => number;
}

/**
 * Puts the cache in front of `provider`. A provider made by
 * `createMaterialProvider` has its store's key records cached (a new
 * material provider over the caching store: wraps, unwraps and data keys
 * are then computed here from cached material); any other has its unwrapped
 * data keys cached. Subscribes to invalidations now (in the background when
 * Redis is not there yet). Closing it closes the provider and the connection.
 */
export async function cacheInFront(
  provider: KeyProvider,
  options: CachedProviderOptions,
): Promise<CachedProvider> {
  const counters = new WrapperCounters();
  const l1Options = options.l1 ?? {
    maxEntries: DEFAULT_L1.maxEntries,
    ttlSeconds: Math.min(DEFAULT_L1.ttlSeconds, options.ttlSeconds),
  };
  const l1 = new L1Cache(l1Options.maxEntries, l1Options.ttlSeconds * 1000, options.now);
  const channel = new InvalidationChannel(options.connection, options.prefix, options.namespace);
  const store = materialStoreOf(provider);
  const reuse = options.dataKeyReuse === undefined ? undefined : new DataKeyReuse(options.dataKeyReuse);
  const turns = new EventLoopTurns();
  const tiered = new TieredCache({
    l1,
    turns,
    redis: options.cache,
    ttlSeconds: options.ttlSeconds,
    onRedisError: options.onRedisError,
    counters,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(store === undefined ? {} : { namesOfTag: (tag: string) => [materialEntryName(tag)] }),
    announce: (tag) => channel.announce(tag),
    ...(reuse === undefined
      ? {}
      : { onDrop: (tag: string | undefined) => (tag === undefined ? reuse.clear() : reuse.dropTag(tag)) }),
  });

  const sweep = setInterval(() => {
    l1.sweep();
    reuse?.sweep();
  }, options.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  // Never what keeps a process alive.
  sweep.unref();

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      clearInterval(sweep);
      try {
        await provider.close();
      } finally {
        await channel.close();
        tiered.clearLocal();
        await options.connection.close();
      }
    })();
    return closed;
  };

  const stats = (): CachedProviderStats => {
    const redis = options.connection.stats();
    const c = counters.counts;
    return {
      hits: { l1: c.l1Hits, redis: c.redisHits },
      misses: c.misses,
      errors: c.errors,
      dropped: c.dropped + redis.dropped,
      invalidations: c.invalidations,
      connected: options.connection.ready,
      subscribed: channel.active,
      redis,
    };
  };
  const built =
    store === undefined
      ? cachingProvider(provider, tiered, { close, stats })
      : Object.assign(retryingStale(createMaterialProvider(cachingStore(store, tiered, close)), tiered), {
          stats,
        });
  const cached = reuse === undefined ? built : reusingDataKeys(built, reuse, turns);

  try {
    await channel.listen({ heard: (tag) => tiered.heard(tag), gap: () => tiered.clearLocal() });
  } catch {
    // Not subscribed yet: the subscriber retries on reconnect; the L1's age bounds staleness meanwhile.
  }

  return cached as CachedProvider;
}
