import type { KeyObject } from 'node:crypto';
import { Conflict } from '../../../errors/keystore-error.js';
import { beginCommit } from '../../../provider/call-deadline.js';
import { currentSignature } from '../disk/location.js';
import { DEFAULT_STALE_LOCK_MS, type FileLockOptions } from '../disk/lock.js';
import { writeKeystoreFile } from '../disk/write.js';
import { type KeystoreDocument, serializeDocument } from '../format/document.js';
import { computeMac } from '../format/mac.js';

export interface ReplaceOptions {
  readonly lock: FileLockOptions;
  /** The signature of the file the new content was made from (`undefined`: there was none). */
  readonly expected: string | undefined;
  /** The signature of the file now; by default `currentSignature` (a missing file is `ProviderUnavailable`). */
  readonly signatureNow?: (path: string) => Promise<string | undefined>;
  /** Remove crashed writers' temp files older than this (default: the lock's staleness age). */
  readonly leftoverAgeMs?: number;
  /** What is being written, for the Conflict message (default "this write"). */
  readonly what?: string;
}

/**
 * Every write of the keystore file: `content` with its MAC under `macKey`,
 * replacing the file in one atomic rename. Call it holding the file's lock.
 * Last check before the rename: the file is still the one the content was
 * made from (`Conflict` if not; only a lock broken as stale, its holder
 * stalled past staleLockMs, lets another writer in between). Then the point
 * of no return of a guarded call (`beginCommit`): it fails if the call
 * already timed out (nothing written); from there on the keystore waits for
 * this write's real outcome.
 * @returns the document written
 */
export async function replaceDocument(
  path: string,
  content: Omit<KeystoreDocument, 'mac'>,
  macKey: KeyObject,
  options: ReplaceOptions,
): Promise<KeystoreDocument> {
  const doc: KeystoreDocument = { ...content, mac: computeMac(macKey, content) };
  const signatureNow = options.signatureNow ?? currentSignature;
  await writeKeystoreFile(
    path,
    serializeDocument(doc),
    options.leftoverAgeMs ?? options.lock.staleMs ?? DEFAULT_STALE_LOCK_MS,
    async () => {
      if ((await signatureNow(path)) !== options.expected) {
        throw new Conflict(
          `keystore file ${path} was changed by another process during ${options.what ?? 'this write'}; retry`,
        );
      }
      beginCommit(`keystore file ${path} could be replaced`);
    },
  );
  return doc;
}
