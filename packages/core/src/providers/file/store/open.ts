import { timingSafeEqual } from 'node:crypto';
import { AccessDenied } from '../../../errors/keystore-error.js';
import { currentSignature, exists, signatureIfExists } from '../disk/location.js';
import { withFileLock } from '../disk/lock.js';
import { readKeystoreFile } from '../disk/read.js';
import { type KeyEntry, newKdfBlock, parseDocument } from '../format/document.js';
import { type FileKeys, type FileSecret, fileKeysFor } from '../format/subkeys.js';
import { checkMinGeneration } from './generation.js';
import type { CheckedFileOptions } from './options.js';
import { replaceDocument } from './replace.js';
import { openSnapshot, type Snapshot } from './snapshot.js';

/** A keystore file opened with its secret: its subkeys and its verified, decrypted state. */
export interface Opened {
  readonly keys: FileKeys;
  readonly snapshot: Snapshot;
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
): Promise<Opened> {
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

/** Creates an empty keystore file at generation 1; if another process created it first, opens theirs. */
export async function createNew(options: CheckedFileOptions, path: string): Promise<Opened> {
  const kdf = newKdfBlock(options.kdf);
  // The slow derivation happens before the lock, so other processes are not kept waiting.
  const keys = await fileKeysFor(path, options.secret, kdf);
  const content = {
    generation: 1,
    kdf,
    verifier: keys.verifier.toString('base64url'),
    keys: new Map<string, KeyEntry>(),
  };
  const doc = await withFileLock(`${path}.lock`, options.lock, async () => {
    if (await exists(path)) return undefined;
    return replaceDocument(path, content, keys.mac, {
      lock: options.lock,
      expected: undefined,
      signatureNow: signatureIfExists,
    });
  });
  if (doc === undefined) {
    return openExisting(path, options.secret, options.allowInsecurePermissions, options.minGeneration);
  }
  return { keys, snapshot: { signature: await currentSignature(path), doc, keys: new Map() } };
}
