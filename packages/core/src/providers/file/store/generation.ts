import { Corrupted } from '../../../errors/keystore-error.js';
import type { KeystoreDocument } from '../format/document.js';

/**
 * Rollback detection. Every write increments the file's generation, which
 * the MAC covers, so only a holder of the secret can make a file with a
 * higher one. A process remembers the newest generation it has seen (and
 * that file's MAC) and refuses a file that goes back: a lower generation (an
 * older copy put back), or the same generation with other content (a copy
 * from another branch of the file's history). A freshly started process has
 * no memory: `minGeneration` stands in for it.
 */
export interface SeenGeneration {
  readonly generation: number;
  readonly mac: string;
}

export function seenOf(doc: KeystoreDocument): SeenGeneration {
  return { generation: doc.generation, mac: doc.mac };
}

/** The newer of two seen states (generations only go up). */
export function newerSeen(a: SeenGeneration, b: SeenGeneration): SeenGeneration {
  return b.generation > a.generation ? b : a;
}

const RESTORE_HINT = 'if this is a deliberate restore from a backup, use restoreFileKeystore';

/** @throws Corrupted saying the file was rolled back. Call only on a document whose MAC was verified. */
export function checkNotRolledBack(path: string, seen: SeenGeneration, doc: KeystoreDocument): void {
  if (doc.generation < seen.generation) {
    throw new Corrupted(
      `keystore file ${path} was rolled back: it holds generation ${doc.generation}, but this process has seen generation ${seen.generation}; it is not used (${RESTORE_HINT})`,
    );
  }
  // Generation 0 (format version 1, written by older releases) cannot tell branches apart.
  if (doc.generation === seen.generation && doc.generation > 0 && doc.mac !== seen.mac) {
    throw new Corrupted(
      `keystore file ${path} was rolled back or replaced by another copy: it holds generation ${doc.generation} with other content than this process saw; it is not used (${RESTORE_HINT})`,
    );
  }
}

/** For a freshly opened file. @throws Corrupted saying the file was rolled back */
export function checkMinGeneration(path: string, minGeneration: number, doc: KeystoreDocument): void {
  if (doc.generation < minGeneration) {
    throw new Corrupted(
      `keystore file ${path} was rolled back: it holds generation ${doc.generation}, below minGeneration ${minGeneration}; it is not used (${RESTORE_HINT})`,
    );
  }
}
