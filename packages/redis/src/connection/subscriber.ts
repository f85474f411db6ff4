import type { RedisClient } from './create-client.js';

/** What a subscriber to a channel hears. */
export interface SubscriptionListener {
  onMessage(message: string): void;
  /**
   * The subscriber connection was lost: messages published from now until
   * `active` is true again may never arrive (whatever trusted them, an L1,
   * must assume it missed some). Called again once the channel is
   * subscribed anew, for what was cached in between.
   */
  onGap?(): void;
}

export interface Subscription {
  /** Whether the channel is subscribed on a connected subscriber now. */
  readonly active: boolean;
  unsubscribe(): Promise<void>;
}

/**
 * Pub/sub on a connection of its own (a subscribed connection takes no other
 * commands). It subscribes to every channel with a listener whenever it
 * becomes ready, so a channel added while Redis is down is subscribed once
 * it is back (SUBSCRIBE is idempotent, so ioredis's own resubscription
 * doing the same is harmless).
 */
export class Subscriber {
  readonly #client: RedisClient;
  readonly #channels = new Map<string, Set<SubscriptionListener>>();
  /** Channels subscribed since the connection last became ready. */
  readonly #subscribed = new Set<string>();
  /** Channels whose listeners heard a gap and have not been told the subscription is back. */
  readonly #gapped = new Set<string>();
  #retry: NodeJS.Timeout | undefined;

  constructor(client: RedisClient, onError: () => void) {
    this.#client = client;
    client.on('error', onError);
    client.on('message', (channel: string, message: string) => {
      for (const listener of this.#channels.get(channel) ?? []) listener.onMessage(message);
    });
    client.on('ready', () => {
      for (const channel of this.#channels.keys()) void this.#subscribe(channel);
    });
    client.on('close', () => {
      if (this.#subscribed.size === 0) return;
      for (const channel of this.#subscribed) this.#gapped.add(channel);
      this.#subscribed.clear();
      for (const listeners of this.#channels.values()) for (const l of listeners) l.onGap?.();
    });
    client.connect().catch(() => {
      // Counted by the 'error' listener; the connection retries in the background.
    });
  }

  async #subscribe(channel: string): Promise<void> {
    if (this.#client.status !== 'ready') return;
    try {
      await this.#client.subscribe(channel);
      if (!this.#channels.has(channel)) return;
      this.#subscribed.add(channel);
      // What was cached between the loss and now may have missed a message: a second gap,
      // now that no more can be missed, lets the listener drop it.
      if (this.#gapped.delete(channel)) {
        for (const l of this.#channels.get(channel) ?? []) l.onGap?.();
      }
    } catch {
      // Not subscribed: tried again in a second (and on the next 'ready'); `active` says so meanwhile.
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        for (const c of this.#channels.keys()) if (!this.#subscribed.has(c)) void this.#subscribe(c);
      }, 1_000).unref();
    }
  }

  async subscribe(channel: string, listener: SubscriptionListener): Promise<Subscription> {
    let listeners = this.#channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#channels.set(channel, listeners);
    }
    listeners.add(listener);
    if (!this.#subscribed.has(channel)) await this.#subscribe(channel);
    // Not subscribed yet: what the listener caches until it is may miss a message, as after a loss.
    if (!this.#subscribed.has(channel)) this.#gapped.add(channel);
    const subscribed = this.#subscribed;
    return {
      get active() {
        return subscribed.has(channel);
      },
      unsubscribe: async () => {
        const set = this.#channels.get(channel);
        set?.delete(listener);
        if (set === undefined || set.size > 0) return;
        this.#channels.delete(channel);
        this.#subscribed.delete(channel);
        if (this.#client.status === 'ready') await this.#client.unsubscribe(channel).catch(() => {});
      },
    };
  }

  close(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#channels.clear();
    this.#gapped.clear();
    this.#subscribed.clear();
    this.#client.disconnect();
  }
}
