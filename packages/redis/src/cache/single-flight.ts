interface Flight {
  readonly promise: Promise<Uint8Array | undefined>;
  /** The invalidation tag of the entry loaded. */
  readonly tag: string;
  waiters: number;
}

/**
 * Concurrent lookups of one name share one load: the first caller runs it,
 * the others wait for its answer. Each caller gets a fresh copy (the guard
 * zeroes what it is handed, so one shared buffer would be zeroed under the
 * others); the shared result is zeroed once the last caller has copied it.
 * A failed load fails every caller waiting on it, and is not remembered.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight>();

  async run(
    name: string,
    load: () => Promise<Uint8Array | undefined>,
    tag = '',
  ): Promise<Uint8Array | undefined> {
    let flight = this.#flights.get(name);
    if (flight === undefined) {
      const promise = load();
      const started: Flight = { promise, tag, waiters: 0 };
      flight = started;
      this.#flights.set(name, started);
      const forget = () => {
        if (this.#flights.get(name) === started) this.#flights.delete(name);
      };
      promise.then(forget, forget);
    }
    flight.waiters++;
    try {
      const shared = await flight.promise;
      return shared === undefined ? undefined : new Uint8Array(shared);
    } finally {
      if (--flight.waiters === 0) (await flight.promise.catch(() => undefined))?.fill(0);
    }
  }

  /** Later callers start a new load (after an invalidation); those waiting keep theirs. */
  forgetAll(): void {
    this.#flights.clear();
  }

  /** As `forgetAll`, for the loads of one tag. */
  forgetTag(tag: string): void {
    for (const [name, flight] of this.#flights) if (flight.tag === tag) this.#flights.delete(name);
  }
}
