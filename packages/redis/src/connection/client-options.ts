import type { ClusterOptions, RedisOptions } from 'ioredis';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisConnectionOptions,
} from './connection-options.js';
import { reconnectDelayMs } from './retry-strategy.js';

/**
 * The ioredis options that make a cache connection fail fast. ioredis's
 * defaults suit a database, not a cache: they queue commands while offline
 * and retry each one 20 times, so a Redis outage becomes a wait for every
 * caller. Here a command runs only on a ready connection, or fails at once.
 */
export const FAIL_FAST_OPTIONS = {
  /** Creating the connection never waits for Redis: it connects in the background. */
  lazyConnect: true,
  /** Not ready: the command fails at once instead of waiting in a queue for a reconnect. */
  enableOfflineQueue: false,
  /** A command in flight when the connection drops fails then, not after retries. */
  maxRetriesPerRequest: 0,
  /**
   * Nor is it sent again after the reconnect: a SET written before an
   * outage could land after the invalidation that made it stale.
   */
  autoResendUnfulfilledCommands: false,
  /** The subscriber connection subscribes again after a reconnect. */
  autoResubscribe: true,
} as const satisfies RedisOptions;

/** Options for one node: fail fast, bounded timeouts, background reconnects with a capped backoff. */
export function redisOptionsFor(options: RedisConnectionOptions): RedisOptions {
  return {
    ...FAIL_FAST_OPTIONS,
    // A backstop: each call also sets its own, shorter when its deadline is nearer.
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.db === undefined ? {} : { db: options.db }),
    ...(options.clientName === undefined ? {} : { connectionName: options.clientName }),
    ...sentinelOptions(options),
  };
}

function sentinelOptions(options: RedisConnectionOptions): RedisOptions {
  const { sentinels } = options;
  if (sentinels === undefined) return {};
  return {
    name: sentinels.name,
    sentinels: sentinels.nodes.map(({ host, port }) => ({ host, port })),
    ...(sentinels.username === undefined ? {} : { sentinelUsername: sentinels.username }),
    ...(sentinels.password === undefined ? {} : { sentinelPassword: sentinels.password }),
    ...(sentinels.tls === true
      ? { enableTLSForSentinelMode: true, ...(options.tls === undefined ? {} : { sentinelTLS: options.tls }) }
      : {}),
    // Sentinels are asked again with the same capped backoff; the command path never waits for them.
    sentinelRetryStrategy: reconnectDelayMs,
    sentinelCommandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
}

/** Options for a Cluster: the same fail-fast rules for the cluster and each of its nodes. */
export function clusterOptionsFor(options: RedisConnectionOptions): ClusterOptions {
  const { lazyConnect, enableOfflineQueue } = FAIL_FAST_OPTIONS;
  const {
    retryStrategy: _retry,
    enableOfflineQueue: _queue,
    lazyConnect: _lazy,
    ...node
  } = redisOptionsFor(options);
  return {
    lazyConnect,
    enableOfflineQueue,
    clusterRetryStrategy: reconnectDelayMs,
    ...(options.cluster?.scaleReads === undefined ? {} : { scaleReads: options.cluster.scaleReads }),
    redisOptions: node,
  };
}
