import { resolveSecret } from '@keystore/core';
import type { KeyProvider } from '@keystore/core/provider';
import type { z } from 'zod';
import { cacheProvider, keystoreCache, type redisCacheConfigSchema } from '../definition.js';
import type { CachedProvider } from './cached-provider.js';

/** The `cache` block without `type`, plus what `createKeystore` would otherwise give. */
export type WithRedisCacheOptions = Omit<z.input<typeof redisCacheConfigSchema>, 'type'> & {
  /** Keeps this provider's entries apart in a shared Redis (default: the provider's type). */
  readonly namespace?: string;
  /** Where `{ env }` references are read (default: `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where relative `{ file }` references resolve (default: the working directory). */
  readonly baseDir?: string;
};

/**
 * The cache in front of a provider, for code that builds its provider
 * itself (`createKeystore` does the same from a `cache` block). Checked as
 * configuration: a bad field is a ConfigError naming it.
 */
export async function withRedisCache(
  provider: KeyProvider,
  options: WithRedisCacheOptions,
): Promise<CachedProvider> {
  const { namespace, env, baseDir, ...block } = options;
  const config = keystoreCache.parseConfig({ ...block, type: 'redis' });
  const resolveContext = { env: env ?? process.env, baseDir: baseDir ?? process.cwd() };
  return cacheProvider(provider, config, {
    ...resolveContext,
    namespace: namespace ?? provider.type,
    resolveSecret: (ref, field) => resolveSecret(ref, field, resolveContext),
  });
}
