import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, ProviderUnavailable } from '../../../errors/keystore-error.js';
import { errnoOf, fileSystemError } from './errors.js';

/**
 * Where the keystore file is, whether it exists, and whether it changed
 * (its signature), without reading it.
 */
export interface Location {
  /** Absolute, symbolic links resolved (also for the directory of a file not yet created). */
  readonly path: string;
  readonly exists: boolean;
}

export async function locate(path: string): Promise<Location> {
  const absolute = resolve(path);
  try {
    return { path: await realpath(absolute), exists: true };
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw fileSystemError('open keystore file', absolute, error);
  }
  const dangling = await lstat(absolute).then(
    () => true,
    () => false,
  );
  if (dangling) throw new ConfigError(`keystore file ${absolute} is a symbolic link to a missing file`);
  const dir = dirname(absolute);
  try {
    return { path: join(await realpath(dir), basename(absolute)), exists: false };
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') {
      throw new ConfigError(`the directory of keystore file ${absolute} does not exist: ${dir}`);
    }
    throw fileSystemError('open directory', dir, error);
  }
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

interface FileStats {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** Changes whenever the file is replaced or written (a new inode on every atomic write, and new times). */
export function signatureOf(st: FileStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** @throws ProviderUnavailable when the file is gone */
export async function currentSignature(path: string): Promise<string> {
  try {
    return signatureOf(await stat(path, { bigint: true }));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw new ProviderUnavailable(`keystore file ${path} no longer exists`);
    throw fileSystemError('read keystore file', path, error);
  }
}

/** The signature, or `undefined` when there is no file. */
export async function signatureIfExists(path: string): Promise<string | undefined> {
  return (await exists(path)) ? currentSignature(path) : undefined;
}
