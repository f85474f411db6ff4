import type { KeyProvider } from '../provider/key-provider.js';
import type { ProviderContext } from './provider-definition.js';

/** What a cache wrapper gets besides its configuration. */
export interface CacheContext extends ProviderContext {
  /**
   * Keeps the entries of one wrapped provider apart from another's in a
   * shared cache: the provider type (a keystore of one provider) or the
   * recipient's name (several), then a digest of the provider's
   * configuration block (`file-3f9c...`), so two deployments whose keystore
   * files, Vault mounts or KMS regions differ never share an entry.
   */
  readonly namespace: string;
}

/**
 * How a cache type plugs into `createKeystore`: the `cache` block of the
 * configuration is parsed by `parseConfig` and applied to every provider the
 * configuration builds (each recipient's), innermost, before the core's
 * guard. `@keystore/redis` exports one as `keystoreCache`.
 *
 * A wrapper returns a provider of the same type and key ids that answers as
 * the wrapped one would. What it returns becomes the caller's: the guard
 * zeroes every data key and material a provider returns once it is used, so
 * a cache hands out a fresh copy each time and keeps its own.
 */
export interface CacheDefinition<C = unknown> {
  readonly type: string;
  /** Validates the `cache` block (with `type`); throws ConfigError naming the bad field. */
  parseConfig(config: unknown): C;
  wrap(provider: KeyProvider, config: C, context: CacheContext): Promise<KeyProvider>;
}

/** Identity helper that gives cache packages type inference. */
export function defineCache<C>(definition: CacheDefinition<C>): CacheDefinition<C> {
  return definition;
}
