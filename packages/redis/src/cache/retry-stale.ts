import { isKeystoreError, type KeyProvider, type UnwrapKeyInput } from '@keystore/core/provider';
import { keyTag } from './entry-names.js';
import type { TieredCache } from './tiered-cache.js';

/**
 * For a material provider over the caching store: an unwrap that names a
 * version the cached record lacks (another process rotated, and its message
 * has not arrived yet) forgets the record and tries once more from the
 * store, so a new envelope from another process decrypts at once rather
 * than after the invalidation bound. A version the store lacks too fails
 * as it would without the cache. A key is reloaded so at most once a second
 * for one version (FORGET_INTERVAL_MS), and for at most
 * MAX_FORGETS_PER_INTERVAL versions a second: envelopes naming versions that
 * do not exist would otherwise make every call a store load (Vault KV, the
 * file), while several rotations elsewhere within a second each still get
 * their reload.
 */
export function retryingStale(provider: KeyProvider, tiered: TieredCache): KeyProvider {
  const unwrapKey = provider.unwrapKey.bind(provider);
  provider.unwrapKey = async (input: UnwrapKeyInput) => {
    const tag = keyTag(input.keyId);
    const began = tiered.mark();
    try {
      return await unwrapKey(input);
    } catch (error) {
      if (!isKeystoreError(error, 'KeyNotFound')) throw error;
      // Reloaded for this version within the last second already: it is missing from the store too, most
      // likely; unless that was after this attempt read the record (a concurrent unwrap's reload): then retry.
      if (!(await tiered.forget(tag, input.version)) && !tiered.changedSince(tag, began)) throw error;
      return unwrapKey(input);
    }
  };
  return provider;
}
