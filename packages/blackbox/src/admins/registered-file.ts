import { lstat, realpath } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Corrupted, InvalidArgument } from '@keystore/core/provider';
import { isWithin } from '../repo/paths.js';

/**
 * The `.gpg` of an entry of blackbox-files.txt, any registered file (not only
 * our keys: a `config/db.yml` someone registered with blackbox_register_new_file).
 * Blackbox's scripts take entries as they are (`..` is not resolved); we
 * re-encrypt in place, so an entry that is absolute, has a `.`/`..`/empty
 * segment, or goes through a directory symlinked out of the repository, or
 * whose `.gpg` is a symlink, is refused before anything is read.
 * `root` must be a realpath (`findLayout` gives one).
 */
export async function resolveRegisteredFile(root: string, entry: string): Promise<string> {
  const segments = entry.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    throw new InvalidArgument(
      `blackbox: registered file ${JSON.stringify(entry)} is not a plain path inside the repository; refused`,
    );
  }
  const encrypted = `${join(root, ...segments)}.gpg`;
  for (let dir = dirname(encrypted); dir.length > root.length; dir = dirname(dir)) {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // then the .gpg is missing too
      throw error;
    }
    if (!isWithin(root, real)) {
      throw new InvalidArgument(
        `blackbox: registered file ${entry} leads through a symlink out of the repository (${relative(root, dir)})`,
      );
    }
  }
  const stat = await lstat(encrypted).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stat?.isSymbolicLink()) {
    throw new InvalidArgument(`blackbox: registered file ${entry}: ${entry}.gpg is a symlink; refused`);
  }
  return encrypted;
}

/** A registered file whose `.gpg` is gone: the same error the store gives for a key. */
export function missingEncryptedFile(entry: string): Corrupted {
  return new Corrupted(`blackbox: ${entry} is registered in blackbox-files.txt but ${entry}.gpg is missing`);
}
