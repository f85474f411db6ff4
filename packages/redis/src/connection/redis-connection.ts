import { Command } from 'ioredis';
import { RedisUnavailable, redisErrorWord } from '../errors.js';
import { commandBudgetMs } from './command-budget.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, type RedisConnectionOptions } from './connection-options.js';
import { createClient, type RedisClient } from './create-client.js';
import { CacheCounters, type RedisCacheStats } from './stats.js';
import { Subscriber, type Subscription, type SubscriptionListener } from './subscriber.js';

/**
 * The few Redis commands the cache needs, each answering or failing within
 * its time: the caller's deadline (core's `callTimeLeftMs()`) or the
 * connection's `commandTimeoutMs`, whichever is sooner. Redis down: every
 * command fails at once with `RedisUnavailable` and is never queued, while
 * the connection reconnects in the background.
 */
export interface RedisConnection {
  /** The value under `key`, or `undefined` when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Sets `key` to `value`, expiring after `ttlSeconds` (a whole number, at least 1). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Deletes the keys; how many existed. */
  del(keys: readonly string[]): Promise<number>;
  /** Publishes on a channel; how many subscribers got it. */
  publish(channel: string, message: string): Promise<number>;
  /** Listens on a channel, over a second connection made on the first subscribe. */
  subscribe(channel: string, listener: SubscriptionListener): Promise<Subscription>;
  /** Whether commands are sent now (the connection is ready). */
  readonly ready: boolean;
  /** Counters since the connection was made (the encrypted store adds its own to the same ones). */
  stats(): RedisCacheStats;
  /** Ends both connections; commands fail with `RedisUnavailable` ('closed') afterwards. */
  close(): Promise<void>;
  /** The values under `keys`, in order (`undefined` where there is none); one round trip. */
  mget(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Runs a Lua script (EVAL) over `keys` and `args`; its reply. Under a
   * Cluster every key must hash to one slot (give them one `{hash tag}`).
   */
  eval(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

export interface RedisConnectionInternals {
  /** Counters to share (the encrypted store counts hits, misses, dropped in them). */
  readonly counters?: CacheCounters;
}

const TIMED_OUT = /timed out/i;

/**
 * Makes the connection and starts connecting in the background: it returns
 * at once, whether or not Redis is there.
 */
export function createRedisConnection(
  options: RedisConnectionOptions,
  internals: RedisConnectionInternals = {},
): RedisConnection {
  const counters = internals.counters ?? new CacheCounters();
  const capMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const client: RedisClient = createClient(options);
  const onError = () => counters.count('connectionErrors');
  // Without a listener, a failed connection attempt is an unhandled 'error' event: a crash.
  client.on('error', onError);
  client.connect().catch(() => {
    // Counted by the listener; ioredis reconnects on its retryStrategy.
  });
  let subscriber: Subscriber | undefined;
  let closed = false;

  async function run(name: string, args: readonly (string | number)[]): Promise<unknown> {
    if (closed) throw new RedisUnavailable(name, 'closed', 'the connection is closed');
    const budget = commandBudgetMs(capMs);
    if (budget <= 0) {
      counters.count('timeouts');
      throw new RedisUnavailable(name, 'timeout', 'the call has no time left for the cache');
    }
    if (client.status !== 'ready') {
      counters.count('offline');
      throw new RedisUnavailable(name, 'not-connected', `not connected (${client.status})`);
    }
    const command = new Command(name, [...args], { replyEncoding: 'utf8' });
    // Set before sendCommand, so it wins over the connection-wide commandTimeout.
    command.setTimeout(budget);
    try {
      return await client.sendCommand(command);
    } catch (error) {
      if (error instanceof Error && TIMED_OUT.test(error.message)) {
        counters.count('timeouts');
        throw new RedisUnavailable(name, 'timeout', `no answer within ${budget} ms`);
      }
      counters.count('errors');
      const word = redisErrorWord(error);
      throw new RedisUnavailable(
        name,
        'error',
        word === undefined ? 'the command failed (connection lost?)' : `the server answered ${word}`,
      );
    }
  }

  return {
    async get(key) {
      const value = await run('get', [key]);
      return value === null || value === undefined ? undefined : String(value);
    },
    async set(key, value, ttlSeconds) {
      if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new RangeError('ttlSeconds must be a whole number of seconds, at least 1');
      }
      await run('set', [key, value, 'EX', ttlSeconds]);
    },
    async del(keys) {
      if (keys.length === 0) return 0;
      // One DEL per key: a Cluster refuses a DEL across hash slots (CROSSSLOT).
      if (options.cluster !== undefined) {
        const counts = await Promise.all(keys.map((key) => run('del', [key])));
        return counts.reduce<number>((sum, n) => sum + Number(n), 0);
      }
      return Number(await run('del', keys));
    },
    async publish(channel, message) {
      return Number(await run('publish', [channel, message]));
    },
    async subscribe(channel, listener) {
      if (closed) throw new RedisUnavailable('subscribe', 'closed', 'the connection is closed');
      subscriber ??= new Subscriber(createClient(options), onError);
      return subscriber.subscribe(channel, listener);
    },
    get ready() {
      return !closed && client.status === 'ready';
    },
    stats: () => counters.snapshot(),
    async close() {
      if (closed) return;
      closed = true;
      subscriber?.close();
      // QUIT would wait for Redis (and for nothing if it is down): closing the socket is enough.
      client.disconnect();
    },
    async mget(keys) {
      if (keys.length === 0) return [];
      const values = await run('mget', keys);
      if (!Array.isArray(values)) throw new RedisUnavailable('mget', 'error', 'the server answered no list');
      return keys.map((_, i) =>
        values[i] === null || values[i] === undefined ? undefined : String(values[i]),
      );
    },
    async eval(script, keys, args) {
      // EVAL rather than EVALSHA: Redis caches the compiled script either way, and a NOSCRIPT
      // after a restart or failover would cost a second round trip inside the caller's deadline.
      return run('eval', [script, keys.length, ...keys, ...args]);
    },
  };
}
