import {
  beginCommit,
  Closed,
  Conflict,
  isKeystoreError,
  KeyExists,
  type MaterialStore,
  ProviderError,
  type StoredKey,
  type StoredVersion,
} from '@keystore/core/provider';
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { parseKvSecret, serializeKvSecret } from './layout.js';
import { isKvKeyId, type KvPaths } from './paths.js';

/**
 * Keys in KV v2, one secret per key id, every write check-and-set.
 *
 * `MaterialStore.save(key, expectedLatest)` speaks of key versions; KV's CAS
 * speaks of the secret's version. The bridge is exact: each load remembers
 * the KV version it read against the latest key version object it returned,
 * and a save of a key built on that load writes with that KV version as
 * `cas`. So a write lands only on the very secret version its key was read
 * from; any other write in between (another process's rotation) makes Vault
 * refuse it, and the material provider retries from a fresh read.
 */
const readResponse = z.object({
  data: z.object({
    data: z.unknown(),
    metadata: z.object({ version: z.number().int().positive() }),
  }),
});
const listResponse = z.object({ data: z.object({ keys: z.array(z.string()) }) });

function expect<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProviderError(`vault: unexpected response to ${what}`);
  return parsed.data;
}

const isNotFound = (error: unknown) => isKeystoreError(error, 'KeyNotFound');

export function createKvStore(
  client: VaultClient,
  paths: KvPaths,
  onClose: () => Promise<void> = async () => {},
): MaterialStore {
  let closed = false;
  /** The KV version each loaded key was read at, by the object of its latest version. */
  const readAt = new WeakMap<StoredVersion, number>();

  const open = () => {
    if (closed) throw new Closed('vault: the provider was closed');
  };

  async function load(keyId: string): Promise<StoredKey | undefined> {
    open();
    const path = paths.data(keyId);
    let body: Record<string, unknown>;
    try {
      body = await client.request('GET', path);
    } catch (error) {
      // Missing, or its latest KV version soft-deleted (`kv delete`; `kv undelete` restores it).
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const { data } = expect(readResponse, body, 'reading a KV secret');
    const key = parseKvSecret(keyId, data.data);
    const latest = key.versions[key.versions.length - 1] as StoredVersion;
    readAt.set(latest, data.metadata.version);
    return key;
  }

  return {
    type: 'vault',
    writable: true,
    load,

    async list(): Promise<StoredKey[]> {
      open();
      let names: string[];
      try {
        names = expect(listResponse, await client.request('LIST', paths.list), 'listing KV secrets').data
          .keys;
      } catch (error) {
        if (isNotFound(error)) return []; // KV answers an empty folder with 404
        throw error;
      }
      const keys: StoredKey[] = [];
      // Sub-folders end in '/'; they and names that are not our key ids are not keys of ours.
      for (const name of names.filter(isKvKeyId).sort()) {
        const key = await load(name);
        if (key !== undefined) keys.push(key); // deleted since the list
      }
      return keys;
    },

    async save(key: StoredKey, expectedLatest: number): Promise<void> {
      open();
      let cas = 0;
      if (expectedLatest !== 0) {
        const base = key.versions.find((v) => v.version === expectedLatest);
        const read = base === undefined ? undefined : readAt.get(base);
        // Not built on a read of this store: there is no KV version to check against.
        if (read === undefined) throw new Conflict(`vault: key '${key.keyId}' was not read before writing`);
        cas = read;
      }
      const body = { options: { cas }, data: serializeKvSecret(key) };
      beginCommit('writing the KV secret');
      try {
        await client.request('POST', paths.data(key.keyId), body);
      } catch (error) {
        if (isKeystoreError(error, 'Conflict')) {
          if (expectedLatest === 0) throw new KeyExists(`vault: key '${key.keyId}' already exists`);
          throw new Conflict(`vault: key '${key.keyId}' was changed concurrently; retry`);
        }
        throw error;
      }
    },

    async remove(keyId: string): Promise<void> {
      open();
      const path = paths.metadata(keyId);
      beginCommit('deleting the KV secret');
      // The metadata: the secret and every version of it, not only the latest (a soft delete).
      await client.request('DELETE', path);
    },

    async close(): Promise<void> {
      closed = true;
      await onClose();
    },
  };
}
