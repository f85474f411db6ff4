import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../connection/redis-connection.js';
import type { Subscription } from '../connection/subscriber.js';

/** What another process is told: the namespace and tag (SHA-256 of the key id) whose entries to drop. */
interface Message {
  readonly v: 1;
  readonly from: string;
  readonly ns: string;
  readonly tag: string;
}

const TAG = /^[0-9a-f]{64}$/;

export interface InvalidationListener {
  /** Another wrapper of this namespace changed the tag's key. */
  heard(tag: string): void;
  /** Messages may have been missed. */
  gap(): void;
}

/**
 * Invalidations between processes over pub/sub on `<prefix>invalidate`:
 * every wrapper of every namespace shares the channel and keeps what names
 * its own namespace. A message says only which key changed, never why or
 * anything of its material; a malformed one is ignored (the L1's age still
 * bounds what it would have invalidated).
 */
export class InvalidationChannel {
  readonly #connection: RedisConnection;
  readonly #channel: string;
  readonly #namespace: string;
  /** This wrapper's own messages come back to it: they were applied already. */
  readonly #self = randomBytes(8).toString('hex');
  #subscription: Subscription | undefined;

  constructor(connection: RedisConnection, prefix: string, namespace: string) {
    this.#connection = connection;
    this.#channel = `${prefix}invalidate`;
    this.#namespace = namespace;
  }

  get active(): boolean {
    return this.#subscription?.active ?? false;
  }

  async listen(listener: InvalidationListener): Promise<void> {
    this.#subscription = await this.#connection.subscribe(this.#channel, {
      onMessage: (text) => {
        const message = parse(text);
        if (message === undefined || message.from === this.#self || message.ns !== this.#namespace) return;
        listener.heard(message.tag);
      },
      onGap: () => listener.gap(),
    });
  }

  async announce(tag: string): Promise<void> {
    const message: Message = { v: 1, from: this.#self, ns: this.#namespace, tag };
    await this.#connection.publish(this.#channel, JSON.stringify(message));
  }

  async close(): Promise<void> {
    await this.#subscription?.unsubscribe().catch(() => {});
  }
}

function parse(text: string): Message | undefined {
  try {
    const m = JSON.parse(text) as Partial<Message> | null;
    if (m === null || typeof m !== 'object' || m.v !== 1) return undefined;
    if (typeof m.from !== 'string' || typeof m.ns !== 'string' || typeof m.tag !== 'string') return undefined;
    return TAG.test(m.tag) ? (m as Message) : undefined;
  } catch {
    return undefined;
  }
}
