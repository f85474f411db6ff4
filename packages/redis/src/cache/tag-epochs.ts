/**
 * Which tags were invalidated since a lookup began, per tag: one key's
 * invalidation must not stop every other key's loads being cached (a
 * process-wide epoch did, and an attacker naming missing versions could
 * keep bumping it). A global sequence numbers every drop; each tag keeps the
 * number of its last drop, for at most `maxTags` tags. A tag pushed out
 * leaves its number as a floor that every unknown tag is taken to have been
 * dropped at: a lookup older than the floor is then not stored (a miss
 * later, never a stale entry).
 */
export class TagEpochs {
  readonly #last = new Map<string, number>();
  readonly #maxTags: number;
  #sequence = 0;
  #floor = 0;

  constructor(maxTags = 10_000) {
    this.#maxTags = maxTags;
  }

  /** Where the sequence is now: what a lookup remembers when it begins. */
  mark(): number {
    return this.#sequence;
  }

  /** The tag changed. */
  drop(tag: string): void {
    const at = ++this.#sequence;
    this.#last.delete(tag);
    this.#last.set(tag, at);
    for (const [oldest, number] of this.#last) {
      if (this.#last.size <= this.#maxTags) break;
      this.#last.delete(oldest);
      this.#floor = Math.max(this.#floor, number);
    }
  }

  /** Every tag changed (messages may have been missed). */
  dropAll(): void {
    this.#floor = ++this.#sequence;
    this.#last.clear();
  }

  /** Whether the tag was dropped after `mark`. */
  changedSince(tag: string, mark: number): boolean {
    return (this.#last.get(tag) ?? this.#floor) > mark;
  }
}
