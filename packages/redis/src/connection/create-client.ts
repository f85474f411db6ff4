import { Cluster, Redis } from 'ioredis';
import { clusterOptionsFor, redisOptionsFor } from './client-options.js';
import type { RedisConnectionOptions } from './connection-options.js';

/** A standalone, Sentinel or Cluster client: the commands we send look the same on all three. */
export type RedisClient = Redis | Cluster;

/** The ioredis client for the options, not connected yet (lazyConnect). */
export function createClient(options: RedisConnectionOptions): RedisClient {
  if (options.cluster !== undefined) {
    return new Cluster(
      options.cluster.nodes.map(({ host, port }) => ({ host, port })),
      clusterOptionsFor(options),
    );
  }
  const redisOptions = redisOptionsFor(options);
  return options.url === undefined ? new Redis(redisOptions) : new Redis(options.url, redisOptions);
}
