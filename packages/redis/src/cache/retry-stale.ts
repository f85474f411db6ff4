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
 * (FORGET_INTERVAL_MS): envelopes naming a version that does not exist
 * otherwise make every call a store load (Vault KV, the file).
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
      // Forgotten within the last second already: this version is missing from the store too, most likely;
      // unless that was after this attempt read the record (a concurrent unwrap's reload): then try the new one.
      if (!(await tiered.forget(tag)) && !tiered.changedSince(tag, began)) throw error;
      return unwrapKey(input);
    }
  };
  return provider;
}
