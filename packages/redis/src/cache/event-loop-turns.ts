/** How long a run of answers without I/O may keep the event loop from reading invalidations. */
export const MAX_TURNLESS_MS = 100;

/**
 * L1 hits and reused data keys answer without I/O: a caller awaiting them in
 * a loop (a batch decrypting records held in memory) never lets the event
 * loop turn, so the invalidation messages other processes publish are not
 * read, and a rotated or deleted key would be served from the L1 until its
 * `l1.ttlSeconds`. `needsTurn` notices such a run: it schedules a marker
 * (setImmediate) and says yes once the marker has waited `maxMs`; the caller
 * then awaits `turn()` (the loop reads pending messages first) before it
 * looks in the L1. In a process whose loop turns, nobody ever waits.
 */
export class EventLoopTurns {
  readonly #maxMs: number;
  #pendingSince: number | undefined;

  constructor(maxMs: number = MAX_TURNLESS_MS) {
    this.#maxMs = maxMs;
  }

  needsTurn(): boolean {
    const now = performance.now();
    if (this.#pendingSince === undefined) {
      this.#pendingSince = now;
      setImmediate(() => {
        this.#pendingSince = undefined;
      });
      return false;
    }
    return now - this.#pendingSince > this.#maxMs;
  }

  /**
   * Lets the event loop poll for I/O (pub/sub messages) before this
   * resolves. Two immediates: called from the poll phase, the first runs in
   * the check phase right after it, before any new poll; the second runs
   * only after the next one.
   */
  async turn(): Promise<void> {
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}
