import { randomBytes } from 'node:crypto';
import { AccessDenied, Closed, ConfigError, Conflict } from '../../../errors/keystore-error.js';
import { beginCommit } from '../../../provider/call-deadline.js';
import { checkExpectedLatest, type MaterialStore, zeroMaterial } from '../../../provider/material-store.js';
import { waitWithinCall } from '../disk/bounded-wait.js';
import { withFileLock } from '../disk/lock.js';
import { currentSignature, locate, readKeystoreFile } from '../disk/read.js';
import {
  type KdfBlock,
  type KeyEntry,
  type KeystoreDocument,
  parseDocument,
  SALT_LENGTH,
} from '../format/document.js';
import { computeMac } from '../format/mac.js';
import type { FileKeys } from '../format/subkeys.js';
import { checkNotRolledBack, newerSeen, type SeenGeneration, seenOf } from './generation.js';
import { exists, fileKeysFor, openExisting, sameKeystore, writeKeystore } from './open.js';
import { type CheckedFileOptions, checkFileOptions, type FileStoreOptions } from './options.js';
import { checkStoredKey, openSnapshot, type SealedKey, type Snapshot, sealKey } from './snapshot.js';

export type { FileStoreOptions } from './options.js';

export const FILE_PROVIDER_TYPE = 'file';

async function createNew(
  options: CheckedFileOptions,
  path: string,
): Promise<{ keys: FileKeys; snapshot: Snapshot }> {
  const salt = randomBytes(SALT_LENGTH).toString('base64url');
  const kdf: KdfBlock = options.kdf === undefined ? { name: 'none', salt } : { ...options.kdf, salt };
  // The slow derivation happens before the lock, so other processes are not kept waiting.
  const keys = await fileKeysFor(path, options.secret, kdf);
  const content = {
    generation: 1,
    kdf,
    verifier: keys.verifier.toString('base64url'),
    keys: new Map<string, KeyEntry>(),
  };
  const doc: KeystoreDocument = { ...content, mac: computeMac(keys.mac, content) };
  const created = await withFileLock(`${path}.lock`, options.lock, async () => {
    if (await exists(path)) return false;
    await writeKeystore(path, doc, options.lock);
    return true;
  });
  // Another process created it first: open theirs.
  if (!created) {
    return openExisting(path, options.secret, options.allowInsecurePermissions, options.minGeneration);
  }
  return { keys, snapshot: { signature: await currentSignature(path), doc, keys: new Map() } };
}

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
  let opened: { keys: FileKeys; snapshot: Snapshot };
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
  return fileStore(checked, path, opened.keys, opened.snapshot);
}

function fileStore(
  options: CheckedFileOptions,
  path: string,
  keys: FileKeys,
  initial: Snapshot,
): MaterialStore {
  const lockPath = `${path}.lock`;
  let snapshot: Snapshot | undefined = initial;
  let reloading: Promise<Snapshot> | undefined;
  /** The newest generation this store has seen: a file that goes back from it is refused. */
  let seen: SeenGeneration = seenOf(initial.doc);

  function open(): Snapshot {
    if (snapshot === undefined) throw new Closed('the file provider is closed');
    return snapshot;
  }

  async function reload(before: Snapshot): Promise<Snapshot> {
    const { text, signature } = await readKeystoreFile(path, options.allowInsecurePermissions);
    const doc = parseDocument(text, path);
    if (!sameKeystore(before.doc, doc)) {
      throw new AccessDenied(
        `keystore file ${path} was replaced by a keystore with another password or master key: open it again`,
      );
    }
    // Checked on every read, shared or under the lock: a rolled-back file is never used, so
    // nothing is wrapped or written under material it resurrects.
    const next = openSnapshot(path, doc, keys, signature, before, (verified) =>
      checkNotRolledBack(path, seen, verified),
    );
    open();
    seen = newerSeen(seen, seenOf(doc));
    // Only over the state it started from: a re-read that finished late (one a call gave up
    // on, or one overtaken by this process's own write) never replaces a newer state.
    if (snapshot === before) snapshot = next;
    return next;
  }

  /** The state of the file as it is on disk now: the in-memory one unless the file changed. */
  async function current(): Promise<Snapshot> {
    const before = open();
    if ((await currentSignature(path)) === before.signature) return before;
    // Concurrent readers share one reload; each waits for it only as long as its own call may.
    // A call that gives up also unshares it, so that a re-read that hangs does not wedge every
    // later call: the next one reads afresh.
    const shared = reloading ?? shareReload(before);
    return waitWithinCall(shared, `keystore file ${path} to be re-read`, () => {
      if (reloading === shared) reloading = undefined;
    });
  }

  function shareReload(before: Snapshot): Promise<Snapshot> {
    const started: Promise<Snapshot> = reload(before).finally(() => {
      if (reloading === started) reloading = undefined;
    });
    reloading = started;
    return started;
  }

  /**
   * Under the lock: the file as it is now. Never a shared reload, which may
   * have read the file before this lock was taken. Bounded by the call's
   * time, so a hung read does not keep the lock.
   */
  async function currentLocked(): Promise<Snapshot> {
    const before = open();
    if ((await currentSignature(path)) === before.signature) return before;
    return waitWithinCall(reload(before), `keystore file ${path} to be re-read`);
  }

  async function commit(before: Snapshot, keyId: string, sealed: SealedKey | undefined): Promise<void> {
    const entries = new Map(before.doc.keys);
    const stored = new Map(before.keys);
    if (sealed === undefined) {
      entries.delete(keyId);
      stored.delete(keyId);
    } else {
      entries.set(keyId, sealed.entry);
      stored.set(keyId, sealed.stored);
    }
    const content = {
      generation: before.doc.generation + 1,
      kdf: before.doc.kdf,
      verifier: before.doc.verifier,
      keys: entries,
    };
    const doc: KeystoreDocument = { ...content, mac: computeMac(keys.mac, content) };
    await writeKeystore(path, doc, options.lock, async () => {
      // Last check before replacing the file: still the one we read. Only a lock broken as
      // stale (its holder stalled past staleLockMs) lets another writer in between.
      if ((await currentSignature(path)) !== before.signature) {
        throw new Conflict(`keystore file ${path} was changed by another process during this write; retry`);
      }
      // The point of no return: fails if the call already timed out (nothing written); from
      // here on the keystore waits for this write's real outcome.
      beginCommit(`keystore file ${path} could be replaced`);
    });
    // Written: this generation is now seen, before anything else can fail.
    seen = newerSeen(seen, seenOf(doc));
    const signature = await currentSignature(path);
    open();
    snapshot = { signature, doc, keys: stored };
  }

  return {
    type: FILE_PROVIDER_TYPE,
    writable: true,

    async load(keyId) {
      return (await current()).keys.get(keyId);
    },

    async list() {
      return [...(await current()).keys.values()];
    },

    async save(key, expectedLatest) {
      open();
      checkStoredKey(key);
      await withFileLock(lockPath, options.lock, async () => {
        // Under the lock nobody else writes: this is what is on disk, and it stays so until we write.
        const before = await currentLocked();
        checkExpectedLatest(key.keyId, before.keys.get(key.keyId), expectedLatest);
        await commit(before, key.keyId, sealKey(key, before, keys));
      });
    },

    async remove(keyId) {
      open();
      await withFileLock(lockPath, options.lock, async () => {
        const before = await currentLocked();
        if (!before.keys.has(keyId)) return;
        await commit(before, keyId, undefined);
      });
    },

    async close() {
      const last = snapshot;
      snapshot = undefined;
      if (last === undefined) return;
      zeroMaterial(last.keys.values());
    },
  };
}
