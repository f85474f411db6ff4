import type { RedisCacheStats } from '../connection/stats.js';

/** What a cached provider did since it was wrapped (`stats()`). */
export interface CachedProviderStats {
  /** Answers from the in-process L1, and from Redis. */
  readonly hits: { readonly l1: number; readonly redis: number };
  /** Lookups that went to the provider (or its store). */
  readonly misses: number;
  /** Redis commands that failed or timed out under the wrapper (fail-open: it went on without Redis). */
  readonly errors: number;
  /** Values from Redis that failed to decrypt or verify: deleted, never used. */
  readonly dropped: number;
  /**
   * Invalidations applied: by this wrapper's own changes, heard from other
   * processes, and seen in Redis (an entry of an older generation read, a
   * store refused because the generation moved on).
   */
  readonly invalidations: number;
  /** Whether the connection is ready now (until it is, every lookup skips Redis: nothing waits for it). */
  readonly connected: boolean;
  /** Whether the invalidation channel is subscribed now (while not, the L1's age bounds staleness). */
  readonly subscribed: boolean;
  /** The connection's own counters (timeouts, offline, connection errors, ...). */
  readonly redis: RedisCacheStats;
}

export type WrapperCounter = 'l1Hits' | 'redisHits' | 'misses' | 'errors' | 'dropped' | 'invalidations';

export class WrapperCounters {
  readonly counts: Record<WrapperCounter, number> = {
    l1Hits: 0,
    redisHits: 0,
    misses: 0,
    errors: 0,
    dropped: 0,
    invalidations: 0,
  };

  count(counter: WrapperCounter): void {
    this.counts[counter]++;
  }
}
