import { AccessDenied, Closed } from '../../../errors/keystore-error.js';
import { zeroMaterial } from '../../../provider/material-store.js';
import { waitWithinCall } from '../disk/bounded-wait.js';
import { currentSignature } from '../disk/location.js';
import { type FileLockOptions, withFileLock } from '../disk/lock.js';
import { readKeystoreFile } from '../disk/read.js';
import { type KdfBlock, type KeyEntry, parseDocument, sameKeystore } from '../format/document.js';
import type { FileKeys } from '../format/subkeys.js';
import { checkNotRolledBack, newerSeen, type SeenGeneration, seenOf } from './generation.js';
import type { Opened } from './open.js';
import { replaceDocument } from './replace.js';
import { openSnapshot, type Snapshot } from './snapshot.js';

export interface KeystoreFileOptions {
  readonly allowInsecurePermissions: boolean;
  readonly lock: FileLockOptions;
}

/** The next state of the file, made from the state read under the lock. */
export interface NextState {
  /** Sealed under the file's keys, or under `secret.keys` when the secret changes. */
  readonly entries: ReadonlyMap<string, KeyEntry>;
  /** The in-memory view of `entries`. */
  readonly stored: Snapshot['keys'];
  /** A new secret: its KDF block and subkeys (the verifier and MAC follow from them). */
  readonly secret?: { readonly kdf: KdfBlock; readonly keys: FileKeys };
  /** Crashed writers' temp files older than this are removed first (default: the lock's staleness age). */
  readonly leftoverAgeMs?: number;
}

/**
 * An open keystore file: what the store, the secret change and every other
 * write share. It holds the subkeys, the newest verified state and the
 * newest generation seen, and has the one way to re-read the file (checked
 * against that state: same secret, MAC, not rolled back) and the one way to
 * write it (under the lock, over the state on disk, the next generation).
 */
export interface KeystoreFile {
  readonly path: string;
  /** The newest verified state. @throws Closed */
  state(): Snapshot;
  /** The subkeys the state is sealed under. */
  keys(): FileKeys;
  /**
   * For readers, who take no lock: the state on disk now, the in-memory one
   * unless the file changed. Concurrent callers share one re-read.
   */
  current(): Promise<Snapshot>;
  /** Runs `fn` holding the write lock, with the state on disk now: nobody else writes until it ends. */
  locked<T>(fn: (latest: Snapshot) => Promise<T>): Promise<T>;
  /** Within `locked`: writes `next` as the generation after `before` and makes it the state. */
  commit(before: Snapshot, next: NextState): Promise<void>;
  /** Zeroes the decrypted material of the state; then every call is `Closed`. */
  close(): void;
}

export function openedKeystoreFile(path: string, options: KeystoreFileOptions, opened: Opened): KeystoreFile {
  const lockPath = `${path}.lock`;
  let keys = opened.keys;
  let snapshot: Snapshot | undefined = opened.snapshot;
  let reloading: Promise<Snapshot> | undefined;
  /** The newest generation seen: a file that goes back from it is refused. */
  let seen: SeenGeneration = seenOf(opened.snapshot.doc);

  function state(): Snapshot {
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
    state();
    seen = newerSeen(seen, seenOf(doc));
    // Only over the state it started from: a re-read that finished late (one a call gave up
    // on, or one overtaken by this process's own write) never replaces a newer state.
    if (snapshot === before) snapshot = next;
    return next;
  }

  function shareReload(before: Snapshot): Promise<Snapshot> {
    const started: Promise<Snapshot> = reload(before).finally(() => {
      if (reloading === started) reloading = undefined;
    });
    reloading = started;
    return started;
  }

  return {
    path,
    state,
    keys: () => keys,

    async current() {
      const before = state();
      if ((await currentSignature(path)) === before.signature) return before;
      // Concurrent readers share one reload; each waits for it only as long as its own call may.
      // A call that gives up also unshares it, so that a re-read that hangs does not wedge every
      // later call: the next one reads afresh.
      const shared = reloading ?? shareReload(before);
      return waitWithinCall(shared, `keystore file ${path} to be re-read`, () => {
        if (reloading === shared) reloading = undefined;
      });
    },

    locked(fn) {
      state();
      return withFileLock(lockPath, options.lock, async () => {
        // Under the lock: the file as it is now. Never a shared reload, which may have read the
        // file before this lock was taken. Bounded by the call's time, so a hung read does not
        // keep the lock.
        const before = state();
        const latest =
          (await currentSignature(path)) === before.signature
            ? before
            : await waitWithinCall(reload(before), `keystore file ${path} to be re-read`);
        return fn(latest);
      });
    },

    async commit(before, next) {
      const secret = next.secret;
      const content = {
        generation: before.doc.generation + 1,
        kdf: secret?.kdf ?? before.doc.kdf,
        verifier: secret?.keys.verifier.toString('base64url') ?? before.doc.verifier,
        keys: new Map(next.entries),
      };
      const doc = await replaceDocument(path, content, (secret?.keys ?? keys).mac, {
        lock: options.lock,
        expected: before.signature,
        ...(next.leftoverAgeMs === undefined ? {} : { leftoverAgeMs: next.leftoverAgeMs }),
      });
      // Written: this generation is now seen, before anything else can fail.
      seen = newerSeen(seen, seenOf(doc));
      if (secret !== undefined) keys = secret.keys;
      const signature = await currentSignature(path);
      state();
      snapshot = { signature, doc, keys: new Map(next.stored) };
    },

    close() {
      const last = snapshot;
      snapshot = undefined;
      if (last !== undefined) zeroMaterial(last.keys.values());
    },
  };
}
