import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ConfigError } from '@keystore/core/provider';

/**
 * Reads a file of the repository that must be a regular file of its own
 * (`.gitignore`, the two lists): never through a symlink. A committer could
 * point one at the deploy identity, and we would sort its lines into a list
 * or append to it and commit it. `undefined` when it does not exist.
 */
export async function readRegularFile(path: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw symlinkRefused(path);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile())
      throw new ConfigError(`blackbox: ${path} is not a regular file; refused`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export function symlinkRefused(path: string): ConfigError {
  return new ConfigError(
    `blackbox: ${path} is a symlink; refused (Blackbox's files must be files of the repository)`,
  );
}
