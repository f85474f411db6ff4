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
    /**
     * Listens for +switch-master on the sentinels and reconnects at once.
     * Without it, a failover whose old master stays up (SENTINEL FAILOVER,
     * a partition) left the connection on the old master, still answering
     * as a master until the sentinels demoted it: measured against a real
     * sentinel, SETs and the DELs of invalidations kept landing there for
     * 11 s (1 s with it), and a DEL lost with the old master's data leaves
     * a stale entry on the new one. It costs a connection per sentinel.
     */
    failoverDetector: true,
    sentinelCommandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
}

/**
 * How a Cluster follows redirections and errors. ioredis's defaults wait:
 * up to 16 redirections, 100 ms before retrying a CLUSTERDOWN, a TRYAGAIN
 * or a command whose node closed (each repeated up to 16 times), so a
 * resharding or failing cluster could hold a call for over a second. A
 * cache command fails instead and the call goes to the provider. 4
 * redirections cover a key that moved while a slot migrates (ASK to the
 * importing node, or MOVED then the new owner) with room for a slot map
 * refreshed in between; each call's own timeout still bounds all of them.
 */
export const CLUSTER_FAIL_FAST_OPTIONS = {
  maxRedirections: 4,
  /** Follow a MOVED at once (the slot map is refreshed in the background). */
  retryDelayOnMoved: 0,
  /** 0: CLUSTERDOWN fails the command now rather than after a wait and a retry. */
  retryDelayOnClusterDown: 0,
  /** 0: a command whose node connection closed fails now (no wait for a failover). */
  retryDelayOnFailover: 0,
  /** TRYAGAIN (multi-key during a migration; we send none) retried at once, up to maxRedirections. */
  retryDelayOnTryAgain: 0,
  /**
   * Every command goes to its slot's master. Reads from replicas
   * (`scaleReads: 'slave' | 'all'`) are refused by the configuration: a
   * replica may still hold an entry that a DEL on the master removed
   * (replication is asynchronous), so a read there after an invalidation
   * would serve the stale entry the invalidation was meant to end.
   */
  scaleReads: 'master',
} as const satisfies ClusterOptions;

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
    ...CLUSTER_FAIL_FAST_OPTIONS,
    clusterRetryStrategy: reconnectDelayMs,
    redisOptions: node,
  };
}
