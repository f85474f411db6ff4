/**
 * What the cache did, since it was opened. Counted where it happens: the
 * connection counts what Redis did, the encrypted store what the values were.
 */
export interface RedisCacheStats {
  /** A value was found and decrypted. */
  readonly hits: number;
  /** No value under the key (or an expired one). */
  readonly misses: number;
  /** A command that failed: a server error, or a connection lost while it ran. */
  readonly errors: number;
  /** A command that did not answer within its time (or had none left). */
  readonly timeouts: number;
  /** A command refused at once because the connection was not ready: never queued. */
  readonly offline: number;
  /** A value that failed to decrypt or verify: dropped, never used. */
  readonly dropped: number;
  /** 'error' events of the connections (each failed connection attempt is one). */
  readonly connectionErrors: number;
}

export type StatsCounter = keyof RedisCacheStats;

/** Mutable counters and their snapshot. */
export class CacheCounters {
  readonly #counts: Record<StatsCounter, number> = {
    hits: 0,
    misses: 0,
    errors: 0,
    timeouts: 0,
    offline: 0,
    dropped: 0,
    connectionErrors: 0,
  };

  count(counter: StatsCounter): void {
    this.#counts[counter]++;
  }

  snapshot(): RedisCacheStats {
    return Object.freeze({ ...this.#counts });
  }
}
