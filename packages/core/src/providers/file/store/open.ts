import { timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  AccessDenied,
  ConfigError,
  isKeystoreError,
  ProviderUnavailable,
} from '../../../errors/keystore-error.js';
import { atomicWriteFile, ReplacedNotDurable, removeLeftoverTemps } from '../disk/atomic-write.js';
import { DEFAULT_STALE_LOCK_MS, type FileLockOptions } from '../disk/lock.js';
import { errnoOf, fileSystemError, readKeystoreFile } from '../disk/read.js';
import { canonicalJson } from '../format/canonical-json.js';
import {
  type KdfBlock,
  type KeystoreDocument,
  parseDocument,
  serializeDocument,
} from '../format/document.js';
import { deriveMasterKey, type KdfParams } from '../format/kdf.js';
import { deriveFileKeys, type FileKeys } from '../format/subkeys.js';
import { checkMinGeneration } from './generation.js';
import type { FileSecret } from './options.js';
import { openSnapshot, type Snapshot } from './snapshot.js';

/*
 * Opening, checking and writing a keystore file: what the store and the
 * secret change (file-rekey.ts) share.
 */

export function kdfParamsOf(kdf: KdfBlock): KdfParams | undefined {
  switch (kdf.name) {
    case 'scrypt':
      return { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p };
    case 'pbkdf2-sha256':
      return { name: 'pbkdf2-sha256', iterations: kdf.iterations };
    default:
      return undefined;
  }
}

/** The master key for `kdf` (derived from a password once, or the given key), turned into the file's subkeys. */
export async function fileKeysFor(path: string, secret: FileSecret, kdf: KdfBlock): Promise<FileKeys> {
  const params = kdfParamsOf(kdf);
  if (params === undefined && secret.kind === 'password') {
    throw new ConfigError(
      `keystore file ${path} is protected by a master key, not a password: give masterKey`,
    );
  }
  if (params !== undefined && secret.kind === 'masterKey') {
    throw new ConfigError(
      `keystore file ${path} is protected by a password (${params.name}), not a master key: give password`,
    );
  }
  const salt = Buffer.from(kdf.salt, 'base64url');
  const master =
    params === undefined ? Buffer.from(secret.bytes) : await deriveMasterKey(secret.bytes, salt, params);
  try {
    return deriveFileKeys(master, salt);
  } finally {
    master.fill(0);
  }
}

/** Whether two versions of a file are the same keystore: same KDF block and verifier (same secret). */
export function sameKeystore(a: KeystoreDocument, b: KeystoreDocument): boolean {
  return a.verifier === b.verifier && canonicalJson({ ...a.kdf }) === canonicalJson({ ...b.kdf });
}

/**
 * Reads the file, checks the secret against its verifier (`AccessDenied` when
 * wrong), then its MAC, and decrypts every key version (`Corrupted` when any
 * of it fails).
 */
export async function openExisting(
  path: string,
  secret: FileSecret,
  allowInsecurePermissions: boolean,
  /** Refuse (`Corrupted`, rolled back) a file with a lower generation. */
  minGeneration = 0,
): Promise<{ keys: FileKeys; snapshot: Snapshot }> {
  const { text, signature } = await readKeystoreFile(path, allowInsecurePermissions);
  const doc = parseDocument(text, path);
  const keys = await fileKeysFor(path, secret, doc.kdf);
  const stored = Buffer.from(doc.verifier, 'base64url');
  if (stored.length !== keys.verifier.length || !timingSafeEqual(stored, keys.verifier)) {
    throw new AccessDenied(`wrong password or master key for keystore file ${path}`);
  }
  return {
    keys,
    snapshot: openSnapshot(path, doc, keys, signature, undefined, (verified) =>
      checkMinGeneration(path, minGeneration, verified),
    ),
  };
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw fileSystemError('open keystore file', path, error);
  }
}

/**
 * Replaces the file atomically (temp file, fsync, rename), mode 0600, under
 * the lock; first removes temp files that crashed writers left more than
 * `leftoverAgeMs` ago (by default the lock's staleness age, when no live
 * writer's temp file can be that old).
 */
export async function writeKeystore(
  path: string,
  doc: KeystoreDocument,
  lock: FileLockOptions,
  beforeRename?: () => Promise<void>,
  leftoverAgeMs: number = lock.staleMs ?? DEFAULT_STALE_LOCK_MS,
): Promise<void> {
  try {
    await removeLeftoverTemps(path, leftoverAgeMs);
    await atomicWriteFile(path, serializeDocument(doc), beforeRename);
  } catch (error) {
    if (error instanceof ReplacedNotDurable) throw new KeystoreReplacedNotDurable(path, error.code);
    if (isKeystoreError(error)) throw error;
    throw fileSystemError('write keystore file', path, error);
  }
}

/**
 * The keystore file was replaced (the change is in effect for every reader),
 * but syncing its directory failed, so after a crash the previous file might
 * come back. Reported as `ProviderUnavailable` with a message that says so.
 */
export class KeystoreReplacedNotDurable extends ProviderUnavailable {
  constructor(path: string, code: string) {
    super(
      `keystore file ${path} was written and the change is in effect, but syncing its directory failed (${code}): ` +
        'it may not survive a crash of this machine',
    );
  }
}
