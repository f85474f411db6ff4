import { Fernet } from '@keystore/core';
import type { KeyProvider } from '@keystore/core/provider';
import { type CachedProviderOptions, cacheInFront } from '../../src/cache/cached-provider.js';
import { ValueCodec } from '../../src/codec/value-codec.js';
import { EncryptedCache } from '../../src/encrypted-cache.js';
import type { FakeRedis } from './fake-connection.js';

export const CACHE_KEY = Fernet.generateKey();
export const PREFIX = 't:';
export const NAMESPACE = 'ns';

/** The cache in front of `provider`, over one fake connection to `redis` (one "process"). */
export function cachedOverFake(
  provider: KeyProvider,
  redis: FakeRedis,
  options: Partial<CachedProviderOptions> = {},
) {
  const connection = redis.connection();
  const ttlSeconds = options.ttlSeconds ?? 300;
  const cache = new EncryptedCache(
    connection,
    new ValueCodec({ cacheKey: CACHE_KEY, maxTtlSeconds: ttlSeconds }),
    connection.counters,
    `${PREFIX}${NAMESPACE}:`,
  );
  return cacheInFront(provider, {
    connection,
    cache,
    counters: connection.counters,
    prefix: PREFIX,
    namespace: NAMESPACE,
    ttlSeconds,
    onRedisError: 'fail-open',
    ...options,
  });
}

/**
 * `provider` seen as one without a material store (as Vault Transit or KMS
 * are), with its calls counted: a plain object delegating to it.
 */
export function opaque(provider: KeyProvider) {
  const calls: Record<string, number> = {};
  const out: Record<string, unknown> = {
    specificationVersion: provider.specificationVersion,
    type: provider.type,
    capabilities: provider.capabilities,
  };
  for (const name of Object.keys(provider)) {
    const value: unknown = (provider as unknown as Record<string, unknown>)[name];
    if (typeof value !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return (value as (...a: unknown[]) => unknown).apply(provider, args);
    };
  }
  return { provider: out as unknown as KeyProvider, calls };
}
