interface Entry {
  readonly value: Uint8Array;
  /** Its name in Redis (what an invalidation DELs); its L1 key when that is the same. */
  readonly name: string;
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
 *
 * Entries are found by an L1 key, which may differ from their Redis name: a
 * data key's Redis name is a digest that reveals nothing, but in this process
 * a plain key of the same parts does, without a SHA-256 on every hit.
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
  get(key: string): Uint8Array | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#now()) {
      entry.value.fill(0);
      return undefined;
    }
    this.#entries.set(key, entry);
    return new Uint8Array(entry.value);
  }

  /** Stores a copy of `value` (the caller keeps its own) under `key`; `name` is its Redis name. */
  set(key: string, tag: string, value: Uint8Array, name: string = key): void {
    this.delete(key);
    this.#entries.set(key, { value: new Uint8Array(value), name, tag, expiresAt: this.#now() + this.#ttlMs });
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
      entry.value.fill(0);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    entry.value.fill(0);
  }

  /** The Redis names of the entries of `tag` (none dropped). */
  namesOf(tag: string): string[] {
    const names: string[] = [];
    for (const entry of this.#entries.values()) if (entry.tag === tag) names.push(entry.name);
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
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) continue;
      this.#entries.delete(key);
      entry.value.fill(0);
      swept++;
    }
    return swept;
  }

  /** Drops every entry of `tag`; their Redis names. */
  dropTag(tag: string): string[] {
    const names: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.tag !== tag) continue;
      names.push(entry.name);
      this.#entries.delete(key);
      entry.value.fill(0);
    }
    return names;
  }

  clear(): void {
    for (const entry of this.#entries.values()) entry.value.fill(0);
    this.#entries.clear();
  }
}
