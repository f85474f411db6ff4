import { ConfigError, Conflict, ProviderUnavailable } from '../../../errors/keystore-error.js';
import { type StoredKey, zeroMaterial } from '../../../provider/material-store.js';
import { locate } from '../disk/location.js';
import { KeystoreReplacedNotDurable } from '../disk/write.js';
import { type KeyEntry, newKdfBlock } from '../format/document.js';
import type { KdfOptions, KdfParams } from '../format/kdf.js';
import { sealMaterial } from '../format/material.js';
import { type FileKeys, type FileSecret, fileKeysFor } from '../format/subkeys.js';
import { type KeystoreFile, openedKeystoreFile } from './keystore-file.js';
import { openExisting } from './open.js';
import { checkFileOptions, checkSecret } from './options.js';
import type { Snapshot } from './snapshot.js';

export interface ChangeFileSecretOptions {
  /** The keystore file; it must exist. */
  readonly path: string;
  /** The current password (or `masterKey`). */
  readonly password?: string | Uint8Array;
  /** The current master key (or `password`). */
  readonly masterKey?: Uint8Array;
  /** The new password (or `newMasterKey`). A string is normalized to Unicode NFC and UTF-8 encoded. */
  readonly newPassword?: string | Uint8Array;
  /** The new master key, 32 bytes (or `newPassword`). */
  readonly newMasterKey?: Uint8Array;
  /** The KDF for `newPassword` (default scrypt at OWASP cost, whatever the file used before). */
  readonly newKdf?: KdfOptions;
  /** Accept a file that group or others can read or write (default false: `AccessDenied`). */
  readonly allowInsecurePermissions?: boolean;
  /** Give up waiting for another process's write lock after this many ms (default 10,000). */
  readonly lockTimeoutMs?: number;
  /** A lock file older than this many ms is stale and broken (default 60,000). */
  readonly staleLockMs?: number;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'path',
  'password',
  'masterKey',
  'newPassword',
  'newMasterKey',
  'newKdf',
  'allowInsecurePermissions',
  'lockTimeoutMs',
  'staleLockMs',
]);

const CURRENT_FIELDS = {
  password: 'password',
  masterKey: 'masterKey',
  kdf: 'newKdf',
  missing: 'give password or masterKey: the current secret of the keystore file',
} as const;

const NEW_FIELDS = {
  password: 'newPassword',
  masterKey: 'newMasterKey',
  kdf: 'newKdf',
  missing: 'give newPassword or newMasterKey',
} as const;

/**
 * Every version's material sealed again under `keys`, with fresh nonces;
 * nothing else changes. The in-memory view keeps the same material objects.
 */
function resealed(snapshot: Snapshot, keys: FileKeys): Map<string, KeyEntry> {
  const entries = new Map<string, KeyEntry>();
  for (const [keyId, entry] of snapshot.doc.keys) {
    const stored = snapshot.keys.get(keyId);
    const versions = entry.versions.map((v) => {
      const material = stored?.versions.find((s) => s.version === v.version)?.material;
      // openSnapshot decrypted every version or threw: this cannot be missing.
      if (material === undefined) throw new Conflict(`key '${keyId}' changed while its secret was changed`);
      return { ...v, material: sealMaterial(keys.material, keyId, v.version, material) };
    });
    entries.set(keyId, { ...entry, versions });
  }
  return entries;
}

function zero(keys: Iterable<StoredKey> | undefined): void {
  if (keys !== undefined) zeroMaterial(keys);
}

/**
 * Changes the password or master key of a keystore file (as Java's
 * `keytool -storepasswd`): every key version is decrypted with the current
 * secret and encrypted again under keys derived from the new one, with a new
 * salt, KDF parameters and verifier. Key ids, versions, states, times and the
 * material itself stay as they were, so every envelope made before still
 * decrypts.
 *
 * All or nothing: the new file replaces the old one in one atomic rename,
 * under the same lock as every other write, and only if the file did not
 * change since it was read under that lock. A crash leaves the old file (and
 * the old secret) in place.
 *
 * Processes that have the file open with the old secret get `AccessDenied`
 * on their next access ("open it again"): they must reopen it with the new one.
 *
 * Every temp file a crashed writer left beside the keystore is removed, so no
 * copy sealed under the old secret stays next to it (backups elsewhere do).
 *
 * @throws AccessDenied when the current secret is wrong; ConfigError for bad options
 *   (naming the field); Corrupted for a damaged file; ProviderUnavailable when the
 *   lock cannot be had in time. In all these cases the file and its secret are
 *   unchanged, with one exception that says so in its message: a
 *   ProviderUnavailable saying the secret WAS changed (the file was replaced
 *   but its directory could not be synced): the new secret is in effect.
 */
export async function changeFileKeystoreSecret(options: ChangeFileSecretOptions): Promise<void> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('changeFileKeystoreSecret needs options');
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      const hint = name === 'kdf' ? " (the new secret's KDF is newKdf)" : '';
      throw new ConfigError(`unknown option '${name}'${hint}`);
    }
  }
  const current = checkFileOptions(
    {
      path: options.path,
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.masterKey === undefined ? {} : { masterKey: options.masterKey }),
      ...(options.allowInsecurePermissions === undefined
        ? {}
        : { allowInsecurePermissions: options.allowInsecurePermissions }),
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      ...(options.staleLockMs === undefined ? {} : { staleLockMs: options.staleLockMs }),
    },
    CURRENT_FIELDS,
  );
  let next: { secret: FileSecret; kdf: KdfParams | undefined } | undefined;
  let opened: Snapshot | undefined;
  let file: KeystoreFile | undefined;
  try {
    next = checkSecret(
      { password: options.newPassword, masterKey: options.newMasterKey, kdf: options.newKdf },
      NEW_FIELDS,
    );
    const location = await locate(current.path);
    if (!location.exists) throw new ConfigError(`keystore file ${location.path} does not exist`);
    const path = location.path;
    const open = await openExisting(path, current.secret, current.allowInsecurePermissions);
    opened = open.snapshot;
    file = openedKeystoreFile(path, current, open);

    // The slow derivation happens before the lock, so other processes are not kept waiting.
    const kdf = newKdfBlock(next.kdf);
    const newKeys = await fileKeysFor(path, next.secret, kdf);

    const changing = file;
    await changing.locked(async (latest) => {
      try {
        await changing.commit(latest, {
          entries: resealed(latest, newKeys),
          stored: latest.keys,
          secret: { kdf, keys: newKeys },
          // Every temp file, whatever its age: under the lock, none belongs to a live writer, and
          // each holds the keystore sealed under the secret this call retires.
          leftoverAgeMs: 0,
        });
      } catch (error) {
        if (error instanceof KeystoreReplacedNotDurable) {
          throw new ProviderUnavailable(
            `the secret of keystore file ${path} WAS changed: use the new one. ${error.message}`,
          );
        }
        throw error;
      }
    });
  } finally {
    current.secret.bytes.fill(0);
    next?.secret.bytes.fill(0);
    // The state re-read under the lock reuses the opened state's material where it is unchanged;
    // versions another process removed meanwhile live only in the opened one.
    file?.close();
    zero(opened?.keys.values());
  }
}
