import { Corrupted } from '@keystore/core/provider';

/** Where a blob sits: every message names it, so a bad file can be looked at with `kbxutil`. */
export interface BlobPlace {
  /** 0 for the header blob. */
  readonly index: number;
  /** Where the blob starts in the file. */
  readonly fileOffset: number;
}

/**
 * The one error a malformed keybox gives. Messages carry the problem and numbers (offsets,
 * lengths, counts) only, never bytes of the file: keyblocks may sit next to secrets in a repository.
 */
export function keyboxCorrupted(problem: string, place?: BlobPlace, blobOffset?: number): Corrupted {
  let where = '';
  if (place) {
    const field = blobOffset === undefined ? '' : `, blob offset ${blobOffset}`;
    where = ` (blob ${place.index} at file offset ${place.fileOffset}${field})`;
  }
  return new Corrupted(`keybox: ${problem}${where}`);
}
