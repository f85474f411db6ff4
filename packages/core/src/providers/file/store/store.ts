import { ConfigError } from '../../../errors/keystore-error.js';
import { checkExpectedLatest, type MaterialStore, type StoredKey } from '../../../provider/material-store.js';
import { locate } from '../disk/location.js';
import { type KeystoreFile, openedKeystoreFile } from './keystore-file.js';
import { createNew, type Opened, openExisting } from './open.js';
import { checkFileOptions, type FileStoreOptions } from './options.js';
import { checkStoredKey, type Snapshot, sealKey } from './snapshot.js';

export type { FileStoreOptions } from './options.js';

export const FILE_PROVIDER_TYPE = 'file';

/**
 * The `file` store: a local keystore file (see README.md in this folder),
 * like a Java keystore. The master key is derived once, here; keys are
 * decrypted once per change of the file. Reads use the in-memory state
 * until the file changes on disk; every write takes the lock file, re-reads
 * the file and checks `expectedLatest` against what is on disk, then
 * replaces the file atomically.
 */
export async function createFileStore(options: FileStoreOptions): Promise<MaterialStore> {
  const checked = checkFileOptions(options);
  let opened: Opened;
  let path: string;
  try {
    const location = await locate(checked.path);
    path = location.path;
    if (location.exists) {
      opened = await openExisting(
        path,
        checked.secret,
        checked.allowInsecurePermissions,
        checked.minGeneration,
      );
    } else if (checked.minGeneration > 0) {
      // It existed (it reached that generation): deleted or moved, not to be replaced by an empty one.
      throw new ConfigError(
        `keystore file ${path} does not exist, but minGeneration is ${checked.minGeneration}: it was deleted or moved; restore it (restoreFileKeystore) rather than create a new one`,
      );
    } else if (checked.create) {
      opened = await createNew(checked, path);
    } else {
      throw new ConfigError(
        `keystore file ${path} does not exist: pass create: true to create it (or check the path)`,
      );
    }
  } finally {
    checked.secret.bytes.fill(0);
  }
  return fileStore(openedKeystoreFile(path, checked, opened));
}

/** The material store's operations on an open keystore file. */
function fileStore(file: KeystoreFile): MaterialStore {
  /** Replaces (or, with `key` undefined, removes) one key: the next generation of the file. */
  async function commitKey(before: Snapshot, keyId: string, key?: StoredKey): Promise<void> {
    const entries = new Map(before.doc.keys);
    const stored = new Map(before.keys);
    if (key === undefined) {
      entries.delete(keyId);
      stored.delete(keyId);
    } else {
      const sealed = sealKey(key, before, file.keys());
      entries.set(keyId, sealed.entry);
      stored.set(keyId, sealed.stored);
    }
    await file.commit(before, { entries, stored });
  }

  return {
    type: FILE_PROVIDER_TYPE,
    writable: true,

    async load(keyId) {
      return (await file.current()).keys.get(keyId);
    },

    async list() {
      return [...(await file.current()).keys.values()];
    },

    async save(key, expectedLatest) {
      file.state();
      checkStoredKey(key);
      await file.locked(async (before) => {
        checkExpectedLatest(key.keyId, before.keys.get(key.keyId), expectedLatest);
        await commitKey(before, key.keyId, key);
      });
    },

    async remove(keyId) {
      await file.locked(async (before) => {
        if (!before.keys.has(keyId)) return;
        await commitKey(before, keyId);
      });
    },

    async close() {
      file.close();
    },
  };
}
