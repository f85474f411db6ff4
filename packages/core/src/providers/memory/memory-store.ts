import {
  checkExpectedLatest,
  type MaterialStore,
  type StoredKey,
  zeroMaterial,
} from '../../provider/material-store.js';

/** Keys in this process's memory: for tests and examples; gone when the process ends. */
export function createMemoryStore(type = 'memory'): MaterialStore {
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
