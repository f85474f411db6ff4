import {
  checkExpectedLatest,
  createMaterialProvider,
  createMemoryProvider,
  type KeyProvider,
  type MaterialStore,
  type StoredKey,
  zeroMaterial,
} from '@keystore/core';

/** The provider type of the second recipient when the provider under test is `memory` itself. */
export const OTHER_MEMORY_TYPE = 'memory-b';

/**
 * Keys in this process's memory under a provider type of our choosing: a
 * memory provider that is not of the `memory` type, for when the provider
 * under test is `memory` (a keystore's recipients of one type and key id
 * would be one recipient).
 */
function memoryStoreOfType(type: string): MaterialStore {
  const keys = new Map<string, StoredKey>();
  return {
    type,
    writable: true,
    async load(keyId) {
      return keys.get(keyId);
    },
    async list() {
      return [...keys.values()];
    },
    async save(key, expectedLatest) {
      checkExpectedLatest(key.keyId, keys.get(key.keyId), expectedLatest);
      keys.set(key.keyId, key);
    },
    async remove(keyId) {
      keys.delete(keyId);
    },
    async close() {
      zeroMaterial(keys.values());
      keys.clear();
    },
  };
}

/**
 * A provider of another type than `underTest`, to be the second recipient
 * beside it: core's `memory` provider, or a memory store of type `memory-b`
 * when the provider under test is `memory`.
 */
export async function secondRecipientProvider(underTest: string): Promise<KeyProvider> {
  if (underTest !== 'memory') return createMemoryProvider();
  return createMaterialProvider(memoryStoreOfType(OTHER_MEMORY_TYPE));
}
