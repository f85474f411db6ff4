import { ConfigError } from '../errors/keystore-error.js';
import { defaultImporter, type Importer, importAdapterExport } from './adapter-import.js';
import type { CacheDefinition } from './cache-definition.js';

/** Cache types that live in their own packages, resolved on demand. None is built into the core. */
export const CACHE_PACKAGES: Readonly<Record<string, string>> = {
  redis: '@keystore/redis',
};

/** The definition for a cache `type`: a custom one given by the caller, or the `keystoreCache` export of its package. */
export async function resolveCache(
  type: string,
  custom: Readonly<Record<string, CacheDefinition<unknown>>> = {},
  importer: Importer = defaultImporter,
): Promise<CacheDefinition<unknown>> {
  const own = Object.hasOwn(custom, type) ? custom[type] : undefined;
  if (own !== undefined) return own;
  const pkg = Object.hasOwn(CACHE_PACKAGES, type) ? CACHE_PACKAGES[type] : undefined;
  if (pkg === undefined) {
    const known = [...new Set([...Object.keys(CACHE_PACKAGES), ...Object.keys(custom)])];
    throw new ConfigError(`cache.type: unknown cache type '${type}'; known types: ${known.join(', ')}`);
  }
  return (await importAdapterExport(
    pkg,
    'keystoreCache',
    'cache.type',
    type,
    importer,
  )) as CacheDefinition<unknown>;
}
