import type { MaterialStore, StoredKey } from '@keystore/core/provider';
import { keyTag, materialEntryName } from './entry-names.js';
import { decodeStoredKey, encodeStoredKey } from './stored-key-bytes.js';
import type { TieredCache } from './tiered-cache.js';

/**
 * A material store whose `load` goes L1, Redis, then the store: the key
 * record (every version's material) is what is cached, under
 * `m:<sha256 of the key id>`. Absent keys are never cached (creating one
 * must see it absent in the store). Every write (`save`, `remove`: rotation,
 * creation, import, deletion) invalidates the key here, in Redis and in other
 * processes, also when it fails, since a Conflict means what the cache
 * holds is stale and the writer's retry must load from the store.
 *
 * What `load` returns is a fresh record the caller owns; what the store
 * returns is the store's, copied into the cache and never zeroed here.
 */
export function cachingStore(
  store: MaterialStore,
  tiered: TieredCache,
  close: () => Promise<void>,
): MaterialStore {
  async function load(keyId: string): Promise<StoredKey | undefined> {
    const tag = keyTag(keyId);
    const bytes = await tiered.get(
      materialEntryName(tag),
      tag,
      async () => {
        const key = await store.load(keyId);
        return key === undefined ? undefined : encodeStoredKey(key);
      },
      (value) => {
        const checked = decodeStoredKey(keyId, value);
        // Decoded only to be checked: its material copies are zeroed, not left to the garbage collector.
        for (const v of checked?.versions ?? []) v.material.fill(0);
        return checked !== undefined;
      },
    );
    if (bytes === undefined) return undefined;
    try {
      return decodeStoredKey(keyId, bytes) ?? store.load(keyId);
    } finally {
      bytes.fill(0);
    }
  }

  async function writing<T>(keyId: string, write: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (error) {
      await tiered.invalidate(keyTag(keyId)).catch(() => {});
      throw error;
    }
    await tiered.invalidate(keyTag(keyId));
    return result;
  }

  const { save, remove } = store;
  return {
    type: store.type,
    writable: store.writable,
    load,
    list: () => store.list(),
    ...(save === undefined
      ? {}
      : {
          save: (key: StoredKey, expected: number) =>
            writing(key.keyId, () => save.call(store, key, expected)),
        }),
    ...(remove === undefined
      ? {}
      : { remove: (keyId: string) => writing(keyId, () => remove.call(store, keyId)) }),
    close,
  };
}
