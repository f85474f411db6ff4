import { createHash } from 'node:crypto';
import { canonicalContext, type DataKey, type GenerateDataKeyInput } from '@keystore/core/provider';
import { keyTag } from '../cache/entry-names.js';
import type { DataKeyReuseLimits } from './reuse-limits.js';

interface Reused {
  readonly plaintext: Uint8Array;
  readonly keyId: string;
  readonly version: number;
  readonly ciphertext: Uint8Array;
  /** The key id's invalidation tag: a rotation or deletion drops the entry. */
  readonly tag: string;
  readonly createdAt: number;
  messages: number;
  bytes: number;
}

/** Entries kept at most: one per key id and context in use, oldest dropped first. */
const MAX_ENTRIES = 1000;
/** Tries to take a reused key before a caller gets one of its own. */
const MAX_ATTEMPTS = 4;

/**
 * Data-key reuse for encryption: `generateDataKey` for one key id, context
 * and length hands out the same data key (a fresh copy each time) until the
 * next message would pass one of the limits (age, messages, bytes), then
 * asks the provider for a new one. Concurrent misses share one provider call.
 *
 * In process only, never in Redis: a reused key is the most valuable secret
 * the cache could hold (it opens every message encrypted under it). A
 * request of unknown size (`plaintextBytes` absent) or above `maxBytes` gets
 * a key of its own, never reused, since the byte limit could not be kept.
 */
export class DataKeyReuse {
  readonly #limits: DataKeyReuseLimits;
  readonly #now: () => number;
  readonly #entries = new Map<string, Reused>();
  readonly #flights = new Map<string, Promise<void>>();
  /** Counted up by every drop: a key generated before a rotation is never kept after it. */
  #epoch = 0;

  constructor(limits: DataKeyReuseLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  async generateDataKey(input: GenerateDataKeyInput, make: () => Promise<DataKey>): Promise<DataKey> {
    const bytes = input.plaintextBytes;
    if (bytes === undefined || bytes > this.#limits.maxBytes) return make();
    const name = entryName(input);
    // Others may use up each new key first (or an invalidation end it) before this caller's turn:
    // after a few tries it gets a key of its own rather than waiting on and on.
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const taken = this.#take(name, bytes);
      if (taken !== undefined) return taken;
      let flight = this.#flights.get(name);
      if (flight === undefined) {
        const started = this.#load(name, input.keyId, make);
        flight = started;
        this.#flights.set(name, started);
        const forget = () => {
          if (this.#flights.get(name) === started) this.#flights.delete(name);
        };
        started.then(forget, forget);
      }
      // Each waiter then takes its own message of the new key; one the limits refuse loads again.
      try {
        await flight;
      } catch (error) {
        if (!(error instanceof StaleDataKey)) throw error;
      }
    }
    return make();
  }

  async #load(name: string, keyId: string, make: () => Promise<DataKey>): Promise<void> {
    const epoch = this.#epoch;
    const made = await make();
    try {
      if (epoch !== this.#epoch) throw new StaleDataKey();
      this.#delete(name);
      this.#entries.set(name, {
        plaintext: new Uint8Array(made.plaintext),
        keyId: made.wrapped.keyId,
        version: made.wrapped.version,
        ciphertext: new Uint8Array(made.wrapped.ciphertext),
        // The requested id, as invalidations name it (a provider may record another form of it).
        tag: keyTag(keyId),
        createdAt: this.#now(),
        messages: 0,
        bytes: 0,
      });
      for (const [oldest] of this.#entries) {
        if (this.#entries.size <= MAX_ENTRIES) break;
        this.#delete(oldest);
      }
    } finally {
      // The provider's buffer is ours (the guard's ownership rule): the entry keeps its own copy.
      made.plaintext.fill(0);
    }
  }

  /** A copy of the entry's key counted as one more message of `bytes`, or undefined when a limit says no. */
  #take(name: string, bytes: number): DataKey | undefined {
    const entry = this.#entries.get(name);
    if (entry === undefined) return undefined;
    const { maxAgeSeconds, maxMessages, maxBytes } = this.#limits;
    const expired = this.#now() - entry.createdAt >= maxAgeSeconds * 1000;
    if (expired || entry.messages >= maxMessages || entry.bytes + bytes > maxBytes) {
      this.#delete(name);
      return undefined;
    }
    entry.messages++;
    entry.bytes += bytes;
    return {
      plaintext: new Uint8Array(entry.plaintext),
      wrapped: { keyId: entry.keyId, version: entry.version, ciphertext: new Uint8Array(entry.ciphertext) },
    };
  }

  #delete(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    entry.plaintext.fill(0);
  }

  /**
   * Zeroes and drops every key past `maxAgeSeconds`: `#take` does so only
   * for the key it is asked for, and an unused key must not stay in memory
   * past its age. Run by the cache's sweep timer; the number dropped.
   */
  sweep(): number {
    const oldest = this.#now() - this.#limits.maxAgeSeconds * 1000;
    let swept = 0;
    for (const [name, entry] of this.#entries) {
      if (entry.createdAt > oldest) continue;
      this.#delete(name);
      swept++;
    }
    return swept;
  }

  /** The key of `tag` changed (rotated, deleted, here or in another process): its data keys are not used again. */
  dropTag(tag: string): void {
    this.#epoch++;
    this.#flights.clear();
    for (const [name, entry] of this.#entries) if (entry.tag === tag) this.#delete(name);
  }

  clear(): void {
    this.#epoch++;
    this.#flights.clear();
    for (const name of [...this.#entries.keys()]) this.#delete(name);
  }
}

/** A key generated while its key changed: thrown to the waiters, who then load again. */
class StaleDataKey extends Error {}

/** Key id, length and the context's canonical bytes, length-prefixed, as a SHA-256 digest. */
function entryName(input: GenerateDataKeyInput): string {
  const hash = createHash('sha256');
  const keyId = Buffer.from(input.keyId, 'utf8');
  const context = canonicalContext(input.context);
  const header = Buffer.alloc(12);
  header.writeUInt32BE(keyId.length, 0);
  header.writeUInt32BE(input.length, 4);
  header.writeUInt32BE(context.length, 8);
  return hash.update(header).update(keyId).update(context).digest('hex');
}
