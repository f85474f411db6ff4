export type { CachedProviderStats } from './cache/cache-stats.js';
export { type CachedProvider, DEFAULT_L1 } from './cache/cached-provider.js';
export { type WithRedisCacheOptions, withRedisCache } from './cache/with-redis-cache.js';
export { MAX_TOKEN_CHARS, ValueCodec, type ValueCodecOptions } from './codec/value-codec.js';
export { VALUE_FORMAT_VERSION } from './codec/value-format.js';
export { FAIL_FAST_OPTIONS } from './connection/client-options.js';
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisConnectionOptions,
  type RedisNode,
} from './connection/connection-options.js';
export { createRedisConnection, type RedisConnection } from './connection/redis-connection.js';
export { MAX_RECONNECT_DELAY_MS } from './connection/retry-strategy.js';
export type { RedisCacheStats } from './connection/stats.js';
export type { Subscription, SubscriptionListener } from './connection/subscriber.js';
export {
  cacheProvider,
  keystoreCache,
  type OpenedRedisCache,
  openRedisCache,
  type RedisCacheConfig,
  redisCacheConfigSchema,
} from './definition.js';
export { EncryptedCache } from './encrypted-cache.js';
export { type RedisFailure, RedisUnavailable } from './errors.js';
export { DataKeyReuse } from './reuse/data-key-reuse.js';
export type { DataKeyReuseLimits } from './reuse/reuse-limits.js';
