import { NEXT_GENERATION, SET_IF_GENERATION } from '../../src/cache/generations.js';
import type { RedisConnection } from '../../src/connection/redis-connection.js';
import { CacheCounters } from '../../src/connection/stats.js';
import type { SubscriptionListener } from '../../src/connection/subscriber.js';
import { RedisUnavailable } from '../../src/errors.js';

/** One in-memory "Redis" that several fake connections (processes) share: values and pub/sub. */
export class FakeRedis {
  readonly values = new Map<string, string>();
  readonly listeners = new Map<string, Set<SubscriptionListener>>();
  readonly commands: string[] = [];
  /** Every command fails as against a Redis that is down. */
  down = false;
  /** Published messages wait here instead of being delivered (a slow pub/sub). */
  held: (() => void)[] | undefined;

  connection(counters = new CacheCounters()): RedisConnection & { counters: CacheCounters } {
    const run = (name: string) => {
      this.commands.push(name);
      if (this.down) {
        counters.count('offline');
        throw new RedisUnavailable(name, 'not-connected', 'not connected (fake)');
      }
    };
    let closed = false;
    return {
      counters,
      get: async (key) => {
        run('get');
        return this.values.get(key);
      },
      set: async (key, value) => {
        run('set');
        this.values.set(key, value);
      },
      del: async (keys) => {
        run('del');
        let n = 0;
        for (const key of keys) if (this.values.delete(key)) n++;
        return n;
      },
      publish: async (channel, message) => {
        run('publish');
        const listeners = [...(this.listeners.get(channel) ?? [])];
        const deliver = () => {
          for (const l of listeners) l.onMessage(message);
        };
        // Delivered later, as over a network.
        if (this.held === undefined) setImmediate(deliver);
        else this.held.push(deliver);
        return listeners.length;
      },
      subscribe: async (channel, listener) => {
        const set = this.listeners.get(channel) ?? new Set<SubscriptionListener>();
        this.listeners.set(channel, set);
        set.add(listener);
        return {
          active: true,
          unsubscribe: async () => {
            set.delete(listener);
          },
        };
      },
      get ready() {
        return !closed;
      },
      stats: () => counters.snapshot(),
      close: async () => {
        closed = true;
      },
      mget: async (keys) => {
        run('mget');
        return keys.map((key) => this.values.get(key));
      },
      // The cache's two scripts, done as Redis would (atomically: no await inside); TTLs are not kept.
      eval: async (script, keys, args) => {
        run('eval');
        const [first = '', ...rest] = keys;
        if (script === SET_IF_GENERATION) {
          if ((this.values.get(rest[0] ?? '') ?? '0') !== String(args[2])) return 0;
          this.values.set(first, String(args[0]));
          return 1;
        }
        if (script === NEXT_GENERATION) {
          const next = Number(this.values.get(first) ?? '0') + 1;
          this.values.set(first, String(next));
          for (const key of rest) this.values.delete(key);
          return next;
        }
        throw new Error('the fake runs only the scripts of the cache');
      },
    };
  }

  /** Tells every subscriber of `channel` that messages may have been lost. */
  gap(channel: string): void {
    for (const l of this.listeners.get(channel) ?? []) l.onGap?.();
  }
}
