import {
  type CacheContext,
  ConfigError,
  defineCache,
  type KeyProvider,
  parseConfig,
  secretRefSchema,
} from '@keystore/core/provider';
import { z } from 'zod';
import { type CachedProvider, cacheInFront } from './cache/cached-provider.js';
import { ValueCodec } from './codec/value-codec.js';
import { checkConnectionShape, connectionFields } from './connection/connection-config.js';
import { createRedisConnection, type RedisConnection } from './connection/redis-connection.js';
import { resolveConnection } from './connection/resolve-connection.js';
import { CacheCounters } from './connection/stats.js';
import { EncryptedCache } from './encrypted-cache.js';

const DAY = 86_400;
const seconds = (max: number) => z.number().int().min(1).max(max);

/** The `cache` block for type `redis` (issue 20's configuration). */
export const redisCacheConfigSchema = z
  .object({
    type: z.literal('redis'),
    ...connectionFields,
    /** The Fernet key every value is encrypted under: a reference, never a value from Redis. */
    cacheKey: secretRefSchema,
    prefix: z
      .string()
      // No braces: a `{` in the prefix would become the Redis Cluster hash tag of every name, in place of
      // the key's own `{tag}`, and split a key's entries and counter over slots.
      .regex(/^[!-z|~]{1,128}$/, 'must be 1 to 128 printable characters without spaces or braces')
      .default('keystore:'),
    ttlSeconds: seconds(DAY).default(300),
    l1: z
      .object({
        maxEntries: z.number().int().min(1).max(1_000_000),
        ttlSeconds: seconds(DAY),
      })
      .strict()
      .optional(),
    /** Off unless given: a data key used for several messages (see the README for what that trades away). */
    dataKeyReuse: z
      .object({
        maxAgeSeconds: seconds(DAY),
        maxMessages: z
          .number()
          .int()
          .min(1)
          .max(2 ** 32),
        maxBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      })
      .strict()
      .optional(),
    onRedisError: z.enum(['fail-open', 'fail-closed']).default('fail-open'),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkConnectionShape(config, ctx);
    if (config.l1 !== undefined && config.l1.ttlSeconds > config.ttlSeconds) {
      ctx.addIssue({ code: 'custom', path: ['l1', 'ttlSeconds'], message: 'must not exceed ttlSeconds' });
    }
  });

export type RedisCacheConfig = z.infer<typeof redisCacheConfigSchema>;

// `createKeystore({ cache: { type: 'redis', ... } })` type-checks once this package is imported.
declare module '@keystore/core' {
  interface KeystoreCacheConfigs {
    redis: Omit<z.input<typeof redisCacheConfigSchema>, 'type'>;
  }
}

/** What `wrap` opens for one provider: the connection, and the encrypted values over it. */
export interface OpenedRedisCache {
  readonly connection: RedisConnection;
  readonly cache: EncryptedCache;
  readonly counters: CacheCounters;
}

/** Resolves the block's secrets and opens the connection (in the background: this never waits for Redis). */
export function openRedisCache(
  config: RedisCacheConfig,
  context: CacheContext,
  namespace: string = context.namespace,
): OpenedRedisCache {
  const cacheKey = context.resolveSecret(config.cacheKey, 'cache.cacheKey');
  let codec: ValueCodec;
  try {
    codec = new ValueCodec({ cacheKey, maxTtlSeconds: config.ttlSeconds });
  } catch {
    throw new ConfigError(
      'cache.cacheKey: must be a Fernet key (32 bytes, url-safe base64, as Fernet.generateKey())',
    );
  }
  const options = resolveConnection(config, context);
  const counters = new CacheCounters();
  const connection = createRedisConnection(options, { counters });
  // Each wrapped provider's entries under their own namespace: recipients never share an entry.
  const cache = new EncryptedCache(connection, codec, counters, `${config.prefix}${namespace}:`);
  return { connection, cache, counters };
}

/**
 * Every Redis key name holds the namespace: a long one would pass the codec's
 * name limit (each SET then throws, failing calls even fail-open), and a brace
 * would become the Cluster hash tag in place of the key's own (as for `prefix`).
 */
const NAMESPACE = /^[^{}]{1,256}$/;

/** Opens the cache for `provider` and puts it in front (the `wrap` of `keystoreCache`, and `withRedisCache`). */
export async function cacheProvider(
  provider: KeyProvider,
  config: RedisCacheConfig,
  context: CacheContext,
): Promise<CachedProvider> {
  if (!NAMESPACE.test(context.namespace)) {
    throw new ConfigError(
      "cache: the namespace (withRedisCache's namespace, or a recipient's name) must be 1 to 256 characters without braces",
    );
  }
  const { connection, cache, counters } = openRedisCache(config, context);
  try {
    return await cacheInFront(provider, {
      connection,
      cache,
      counters,
      prefix: config.prefix,
      namespace: context.namespace,
      ttlSeconds: config.ttlSeconds,
      ...(config.l1 === undefined ? {} : { l1: config.l1 }),
      onRedisError: config.onRedisError,
      ...(config.dataKeyReuse === undefined ? {} : { dataKeyReuse: config.dataKeyReuse }),
    });
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/**
 * The `redis` cache type for `createKeystore`: every provider the
 * configuration builds (each recipient's) gets its own cache in front,
 * under its namespace, with data-key reuse when `dataKeyReuse` asks for it.
 */
export const keystoreCache = defineCache<RedisCacheConfig>({
  type: 'redis',
  parseConfig(config) {
    return parseConfig(redisCacheConfigSchema, config, 'cache');
  },
  wrap: cacheProvider,
});
