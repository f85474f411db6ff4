import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  AccessDenied,
  Closed,
  Corrupted,
  checkExpectedLatest,
  InvalidArgument,
  isKeystoreError,
  type MaterialStore,
  type StoredKey,
  zeroMaterial,
} from '@keystore/core/provider';
import { parseKeyFile, serializeKeyFile } from '../format/key-file.js';
import { decryptFile } from '../pgp/decrypt.js';
import { encryptToRecipients } from '../pgp/encrypt.js';
import type { Identity } from '../pgp/identity.js';
import { writeFileAtomic } from '../repo/atomic-write.js';
import { addToGitignore } from '../repo/gitignore.js';
import type { BlackboxLayout } from '../repo/layout.js';
import { deregisterFile, readFiles, registerFile } from '../repo/lists.js';
import { keyIdOf, resolveKeyPaths } from '../repo/paths.js';
import { AdminKeys } from './admin-keys.js';
import { readSnapshot, stampOf } from './read-gpg-file.js';
import { RepoLock } from './repo-lock.js';

export interface BlackboxStoreOptions {
  readonly layout: BlackboxLayout;
  readonly identity: Identity;
  /** Where key files live, relative to the root (default `keys`). */
  readonly keysDir: string;
}

/**
 * Key material in a Blackbox repository: key id `<id>` is the registered
 * file `<keysDir>/<id>`, stored as `<keysDir>/<id>.gpg` encrypted to every
 * admin. A file is decrypted once per change of it (its device, inode, size
 * and times), not once per operation: OpenPGP decryption costs milliseconds.
 * Writes encrypt to every admin, replace the `.gpg` atomically, register the
 * file and ignore its plaintext path, as blackbox_register_new_file does;
 * no plaintext reaches the disk.
 */
/** A registered file that decrypts but is no key file: Corrupted for `load`, passed over by `list`. */
class NotAKeyFile extends Corrupted {}

export function createBlackboxStore(options: BlackboxStoreOptions): MaterialStore {
  const { layout, identity, keysDir } = options;
  const cache = new Map<string, { stamp: string; key: StoredKey }>();
  const admins = new AdminKeys(layout);
  const lock = new RepoLock(`${layout.root}/${layout.dataDir}`);
  let closed = false;

  async function load(keyId: string): Promise<StoredKey | undefined> {
    if (closed) throw new Closed('blackbox: the provider is closed');
    const paths = await resolveKeyPaths(layout.root, keysDir, keyId);
    const file = await readSnapshot(paths.encryptedAbs);
    if (file === undefined) {
      cache.delete(keyId);
      const registered = (await readFiles(layout.filesFile)).includes(paths.plainRel);
      if (registered) {
        throw new Corrupted(
          `blackbox: ${paths.plainRel} is registered in blackbox-files.txt but ${paths.plainRel}.gpg is missing`,
        );
      }
      return undefined;
    }
    const hit = cache.get(keyId);
    if (hit?.stamp === file.stamp) return hit.key;
    // A key is a registered file: a .gpg nobody listed (a create that crashed before registering
    // it, or someone's stray file) is not read, and admin re-encryptions would pass it by.
    if (!(await readFiles(layout.filesFile)).includes(paths.plainRel)) return undefined;
    const name = `${paths.plainRel}.gpg`;
    const plaintext = await decryptFile(file.bytes, identity, name);
    let key: StoredKey;
    try {
      key = parseKeyFile(plaintext, { keyId, file: name, plainCreatedAt: file.mtime.toISOString() });
    } catch (error) {
      throw isKeystoreError(error, 'Corrupted') ? new NotAKeyFile(error.message) : error;
    } finally {
      plaintext.fill(0);
    }
    // The key it replaces is not zeroed: a call in flight may still be wrapping with it.
    cache.set(keyId, { stamp: file.stamp, key });
    return key;
  }

  /**
   * A new key's file must not clash with a registered one: `a` and `a/b` cannot both be files
   * (`blackbox_postdeploy` would fail on the directory), and names that differ only by case are
   * one file on macOS and Windows.
   */
  async function checkNewKeyPath(plainRel: string): Promise<void> {
    const lower = plainRel.toLowerCase();
    for (const entry of await readFiles(layout.filesFile)) {
      const other = entry.toLowerCase();
      if (other === lower && entry !== plainRel) {
        throw new InvalidArgument(`blackbox: ${plainRel} differs from the registered ${entry} only by case`);
      }
      if (other.startsWith(`${lower}/`) || lower.startsWith(`${other}/`)) {
        throw new InvalidArgument(
          `blackbox: ${plainRel} and the registered ${entry} cannot both be files (one is the other's directory)`,
        );
      }
    }
  }

  return {
    type: 'blackbox',
    writable: true,
    load,
    async list() {
      const keys: StoredKey[] = [];
      for (const entry of await readFiles(layout.filesFile)) {
        const keyId = keyIdOf(keysDir, entry);
        if (keyId === undefined) continue; // a registered file that is not one of our keys
        try {
          const key = await load(keyId);
          if (key !== undefined) keys.push(key);
        } catch (error) {
          // A registered file under keysDir that decrypts but holds no key (a certificate, say) is
          // not a key: left out. Any other failure (not decryptable, missing) is loud.
          if (!(error instanceof NotAKeyFile)) throw error;
        }
      }
      return keys;
    },
    save(key, expectedLatest) {
      return lock.run(async () => {
        checkExpectedLatest(key.keyId, await load(key.keyId), expectedLatest);
        const recipients = await admins.current();
        // A key file its own writer cannot read back breaks this deployment at its next start.
        if (!recipients.some((r) => r.fingerprint === identity.fingerprint)) {
          throw new AccessDenied(
            `blackbox: the identity ${identity.fingerprint} is not among the admins of blackbox-admins.txt; writing would lock it out of ${key.keyId}`,
          );
        }
        const paths = await resolveKeyPaths(layout.root, keysDir, key.keyId);
        if (expectedLatest === 0) await checkNewKeyPath(paths.plainRel);
        const plaintext = serializeKeyFile(key);
        let ciphertext: Uint8Array;
        try {
          ciphertext = await encryptToRecipients(
            plaintext,
            recipients.map((r) => r.key),
          );
        } finally {
          plaintext.fill(0);
        }
        await mkdir(dirname(paths.encryptedAbs), { recursive: true });
        // The .gpg first: a crash before the registration leaves a file no one lists, never a listed file that is missing.
        await writeFileAtomic(paths.encryptedAbs, ciphertext);
        await registerFile(layout.filesFile, paths.plainRel);
        await addToGitignore(layout.root, paths.plainRel);
        // What was written is known: the next read needs no decryption unless the file changes again.
        cache.set(key.keyId, { stamp: stampOf(await stat(paths.encryptedAbs)), key });
      });
    },
    remove(keyId) {
      return lock.run(async () => {
        const paths = await resolveKeyPaths(layout.root, keysDir, keyId);
        // Deregistered first: a crash between leaves an unlisted file, as blackbox_deregister_file does in its order.
        await deregisterFile(layout.filesFile, paths.plainRel);
        await rm(paths.encryptedAbs, { force: true });
        cache.delete(keyId);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      zeroMaterial([...cache.values()].map((c) => c.key));
      cache.clear();
    },
  };
}
