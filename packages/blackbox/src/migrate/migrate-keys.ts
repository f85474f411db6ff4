import {
  Conflict,
  InvalidArgument,
  KeyNotFound,
  type MaterialStore,
  type StoredKey,
  UnsupportedOperation,
} from '@keystore/core/provider';
import { type BlackboxProviderOptions, openRepository } from '../provider.js';
import { createBlackboxStore } from '../store/blackbox-store.js';
import { sameVersions } from './same-versions.js';

export interface MigrateBlackboxKeysOptions {
  /** The repository to copy from, as `createBlackboxProvider` takes it. It is only read. */
  readonly from: BlackboxProviderOptions;
  /** Where the keys go: `createFileStore(...)` of `@keystore/core`, `createVaultKvStore(...)` of `@keystore/vault`. The caller closes it. */
  readonly to: MaterialStore;
  /** Only these keys (ids, as in the repository); default every key of the repository. */
  readonly keys?: readonly string[];
  /** Called after each key is copied or skipped, with the count done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface MigrationReport {
  /** Keys written to the target. */
  readonly copied: string[];
  /** Keys the target already held with the same versions. */
  readonly skipped: string[];
}

/**
 * Copies keys of a Blackbox repository, every version (number, date, state,
 * material) and the description, into another material store. Key ids and
 * version numbers stay, so tokens Python apps made directly with a key still
 * decrypt with the copy. Every key is checked against the target before any
 * is written: one the target holds with other versions fails the whole run
 * with `Conflict`, nothing written; one it holds with the same versions is
 * skipped, so a run can be repeated.
 *
 * The copy alone does not open envelopes made through the `blackbox`
 * provider: their wrap binds the provider type. Add a recipient of the
 * target to them first (README, "Moving off Blackbox").
 */
export async function migrateBlackboxKeys(options: MigrateBlackboxKeysOptions): Promise<MigrationReport> {
  const { to, onProgress } = options;
  if (!to.writable || to.save === undefined) {
    throw new UnsupportedOperation(`migrateBlackboxKeys: the target store (${to.type}) is read-only`);
  }
  if (options.keys !== undefined && !Array.isArray(options.keys)) {
    throw new InvalidArgument('migrateBlackboxKeys: keys must be an array of key ids');
  }
  const source = createBlackboxStore(await openRepository(options.from));
  try {
    const keys = await sourceKeys(source, options.keys);
    const copy: StoredKey[] = [];
    const skipped: string[] = [];
    const conflicts: string[] = [];
    for (const key of keys) {
      const there = await to.load(key.keyId);
      if (there === undefined) copy.push(key);
      else if (sameVersions(key, there)) skipped.push(key.keyId);
      else conflicts.push(key.keyId);
    }
    if (conflicts.length > 0) {
      throw new Conflict(
        `migrateBlackboxKeys: the ${to.type} store already holds ${conflicts.map((k) => `'${k}'`).join(', ')} with other versions; nothing was written`,
      );
    }
    let done = skipped.length;
    if (done > 0) onProgress?.(done, keys.length);
    const copied: string[] = [];
    for (const key of copy) {
      // 0: the key must still be absent; one created meanwhile fails with KeyExists rather than being replaced.
      await to.save(key, 0);
      copied.push(key.keyId);
      onProgress?.(++done, keys.length);
    }
    return { copied, skipped };
  } finally {
    await source.close();
  }
}

/** The named keys (each must exist), or every key of the repository, in the files list's order. */
async function sourceKeys(source: MaterialStore, ids: readonly string[] | undefined): Promise<StoredKey[]> {
  if (ids === undefined) return source.list();
  const keys: StoredKey[] = [];
  for (const id of new Set(ids)) {
    if (typeof id !== 'string')
      throw new InvalidArgument('migrateBlackboxKeys: keys must be key ids (strings)');
    const key = await source.load(id);
    if (key === undefined) throw new KeyNotFound(`migrateBlackboxKeys: the repository has no key '${id}'`);
    keys.push(key);
  }
  return keys;
}
