interface Entry {
  readonly value: Uint8Array;
  /** What the entry is about (the SHA-256 hex of its key id): invalidation drops by tag. */
  readonly tag: string;
  readonly expiresAt: number;
}

/**
 * The in-process cache in front of Redis: at most `maxEntries` values, none
 * older than `ttlMs`, least recently used evicted first (a Map keeps
 * insertion order; a hit moves the entry to the end). It keeps its own copy
 * of what it is given and hands out fresh copies, and zeroes a value when it
 * leaves (evicted, expired, dropped, cleared), since values are key material.
 */
export class L1Cache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(maxEntries: number, ttlMs: number, now: () => number = () => performance.now()) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy of the value, or `undefined` when absent or expired. */
  get(name: string): Uint8Array | undefined {
    const entry = this.#entries.get(name);
    if (entry === undefined) return undefined;
    this.#entries.delete(name);
    if (entry.expiresAt <= this.#now()) {
      entry.value.fill(0);
      return undefined;
    }
    this.#entries.set(name, entry);
    return new Uint8Array(entry.value);
  }

  /** Stores a copy of `value` (the caller keeps its own). */
  set(name: string, tag: string, value: Uint8Array): void {
    this.delete(name);
    this.#entries.set(name, { value: new Uint8Array(value), tag, expiresAt: this.#now() + this.#ttlMs });
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
      entry.value.fill(0);
    }
  }

  delete(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    entry.value.fill(0);
  }

  /** The names of the entries of `tag` (none dropped). */
  namesOf(tag: string): string[] {
    const names: string[] = [];
    for (const [name, entry] of this.#entries) if (entry.tag === tag) names.push(name);
    return names;
  }

  /**
   * Zeroes and drops every expired entry: `get` does so only for the entry
   * it is asked for, and key material must not stay in memory past its time
   * because nobody asked. Run by the cache's sweep timer.
   */
  sweep(): number {
    const now = this.#now();
    let swept = 0;
    for (const [name, entry] of this.#entries) {
      if (entry.expiresAt > now) continue;
      this.#entries.delete(name);
      entry.value.fill(0);
      swept++;
    }
    return swept;
  }

  /** Drops every entry of `tag`; their names. */
  dropTag(tag: string): string[] {
    const names: string[] = [];
    for (const [name, entry] of this.#entries) {
      if (entry.tag !== tag) continue;
      names.push(name);
      this.#entries.delete(name);
      entry.value.fill(0);
    }
    return names;
  }

  clear(): void {
    for (const entry of this.#entries.values()) entry.value.fill(0);
    this.#entries.clear();
  }
}
