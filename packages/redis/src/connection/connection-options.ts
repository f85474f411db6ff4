import type { ConnectionOptions } from 'node:tls';

/** A Redis node of a Sentinel or Cluster set-up. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/**
 * Where Redis is and how to log in, with secrets resolved: what
 * `createRedisConnection` takes (the `cache` block resolves to it).
 * Exactly one of `url`, `sentinels`, `cluster`.
 */
export interface RedisConnectionOptions {
  /** `redis://host:port/db` or `rediss://...` (TLS); may carry credentials. */
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  /** TLS options for node:tls (`rediss://` alone means TLS with the system's CAs). */
  readonly tls?: ConnectionOptions;
  readonly db?: number;
  readonly sentinels?: {
    readonly name: string;
    readonly nodes: readonly RedisNode[];
    readonly username?: string;
    readonly password?: string;
    readonly tls?: boolean;
  };
  readonly cluster?: {
    readonly nodes: readonly RedisNode[];
    /** Only 'master' (the default): see CLUSTER_FAIL_FAST_OPTIONS for why not replicas. */
    readonly scaleReads?: 'master';
  };
  readonly clientName?: string;
  /** The most one command may take, whatever the caller's deadline. */
  readonly commandTimeoutMs?: number;
  /** The most one background connection attempt may take. */
  readonly connectTimeoutMs?: number;
}

/**
 * 250 ms: a Redis answers in well under a millisecond on a LAN (measured on
 * loopback: ~0.1 ms p99), so a command that takes longer is a Redis in
 * trouble, and the time is better spent on the provider the cache fronts.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 250;
/** 2 s: a connection attempt runs in the background; this bounds a black-holed host. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
