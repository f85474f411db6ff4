import { ConfigError } from '../../../errors/keystore-error.js';
import { zeroMaterial } from '../../../provider/material-store.js';
import { exists, locate, signatureIfExists } from '../disk/location.js';
import { withFileLock } from '../disk/lock.js';
import { readKeystoreFile } from '../disk/read.js';
import { type KeystoreDocument, parseDocument, sameKeystore } from '../format/document.js';
import { verifyMac } from '../format/mac.js';
import type { FileKeys } from '../format/subkeys.js';
import { type Opened, openExisting } from './open.js';
import { checkFileOptions } from './options.js';
import { replaceDocument } from './replace.js';

export interface RestoreFileKeystoreOptions {
  /** The keystore file to replace (it may be missing: a deleted keystore is restored too). */
  readonly path: string;
  /** The backup: a keystore file, checked in full (secret, MAC, every key version) before anything is written. */
  readonly from: string;
  /** The backup's password (or `masterKey`). */
  readonly password?: string | Uint8Array;
  /** The backup's master key (or `password`). */
  readonly masterKey?: Uint8Array;
  /**
   * The restored file gets a generation above this too: the highest generation
   * any process may have seen, for when the current file cannot be read with
   * the backup's secret (damaged, missing, or under another secret). Default 0.
   */
  readonly minGeneration?: number;
  readonly allowInsecurePermissions?: boolean;
  readonly lockTimeoutMs?: number;
  readonly staleLockMs?: number;
}

/** The generation of the file at `path`, if it is the same keystore as `backup` and its MAC verifies; else 0. */
async function verifiedGeneration(
  path: string,
  backup: KeystoreDocument,
  keys: FileKeys,
  allowInsecure: boolean,
): Promise<number> {
  if (!(await exists(path))) return 0;
  try {
    const doc = parseDocument((await readKeystoreFile(path, allowInsecure)).text, path);
    return sameKeystore(backup, doc) && verifyMac(keys.mac, doc) ? doc.generation : 0;
  } catch {
    // Damaged (which may be why it is restored): its generation cannot be trusted; minGeneration covers it.
    return 0;
  }
}

/**
 * Puts a backup of a keystore file back in place, deliberately: the one way
 * to go back to an older state, since a provider refuses a file whose
 * generation goes back (a rollback). The backup's content (keys, versions,
 * secret) is written with a generation above the backup's, the current
 * file's (when it verifies with the backup's secret) and `minGeneration`, so
 * running providers take it as the newest state. Under the write lock, in
 * one atomic rename; the backup is checked in full first (`AccessDenied` for
 * a wrong secret, `Corrupted` for damage) and nothing is written if it fails.
 *
 * Keys created or rotated after the backup are lost with it: envelopes made
 * under them no longer decrypt. Providers opened with another secret than
 * the backup's get `AccessDenied` and must be opened again.
 *
 * @returns the restored file's generation: record it (for `minGeneration`).
 */
export async function restoreFileKeystore(
  options: RestoreFileKeystoreOptions,
): Promise<{ generation: number }> {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('restoreFileKeystore needs options');
  if (typeof options.from !== 'string' || options.from.length === 0) {
    throw new ConfigError('from must name the backup keystore file');
  }
  const { from, path: target, ...rest } = options;
  const checked = checkFileOptions({ ...rest, path: target });
  let opened: Opened | undefined;
  try {
    const source = await locate(from);
    if (!source.exists) throw new ConfigError(`backup keystore file ${source.path} does not exist`);
    opened = await openExisting(source.path, checked.secret, checked.allowInsecurePermissions);
    const path = (await locate(checked.path)).path;
    const { keys, snapshot: backup } = opened;
    return await withFileLock(`${path}.lock`, checked.lock, async () => {
      const current = await verifiedGeneration(path, backup.doc, keys, checked.allowInsecurePermissions);
      const before = await signatureIfExists(path);
      const generation = Math.max(backup.doc.generation, current, checked.minGeneration) + 1;
      await replaceDocument(path, { ...backup.doc, generation }, keys.mac, {
        lock: checked.lock,
        expected: before,
        signatureNow: signatureIfExists,
        what: 'the restore',
      });
      return { generation };
    });
  } finally {
    checked.secret.bytes.fill(0);
    if (opened !== undefined) zeroMaterial(opened.snapshot.keys.values());
  }
}
