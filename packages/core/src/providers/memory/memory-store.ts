import { Conflict, KeyExists } from '../../errors/keystore-error.js';
import type { MaterialStore, StoredKey } from '../../provider/material-store.js';

function latestOf(key: StoredKey | undefined): number {
  return key === undefined ? 0 : (key.versions[key.versions.length - 1]?.version ?? 0);
}

/** Keys in this process's memory: for tests and examples; gone when the process ends. */
export function createMemoryStore(): MaterialStore {
  const keys = new Map<string, StoredKey>();
  return {
    type: 'memory',
    writable: true,
    async load(keyId) {
      return keys.get(keyId);
    },
    async list() {
      return [...keys.values()];
    },
    async save(key, expectedLatest) {
      const current = keys.get(key.keyId);
      if (expectedLatest === 0 && current !== undefined)
        throw new KeyExists(`key '${key.keyId}' already exists`);
      if (latestOf(current) !== expectedLatest) {
        throw new Conflict(`key '${key.keyId}' was changed concurrently; retry`);
      }
      keys.set(key.keyId, key);
    },
    async remove(keyId) {
      keys.delete(keyId);
    },
    async close() {
      for (const key of keys.values()) for (const v of key.versions) v.material.fill(0);
      keys.clear();
    },
  };
}
