import { constants } from 'node:fs';
import { type FileHandle, lstat, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  AccessDenied,
  ConfigError,
  Corrupted,
  isKeystoreError,
  ProviderUnavailable,
} from '../../../errors/keystore-error.js';

/**
 * The keystore file on disk: where it is, whether it changed, reading it
 * (with the permission check), and mapping file system errors to ours.
 */

/** Refuse to read more than this: a keystore file is small; a huge one is not ours. */
const MAX_FILE_SIZE = 64 * 1024 * 1024;

export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A file system failure as one of our errors: the path and the errno code, nothing else. */
export function fileSystemError(what: string, path: string, error: unknown): Error {
  const code = errnoOf(error) ?? 'error';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AccessDenied(`cannot ${what} ${path} (${code})`);
  }
  return new ProviderUnavailable(`cannot ${what} ${path} (${code})`);
}

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

export async function currentSignature(path: string): Promise<string> {
  try {
    return signatureOf(await stat(path, { bigint: true }));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw new ProviderUnavailable(`keystore file ${path} no longer exists`);
    throw fileSystemError('read keystore file', path, error);
  }
}

function checkMode(path: string, mode: bigint, allowInsecure: boolean): void {
  if (process.platform === 'win32' || allowInsecure) return;
  const loose = Number(mode & 0o077n);
  if (loose !== 0) {
    const octal = Number(mode & 0o777n)
      .toString(8)
      .padStart(3, '0');
    throw new AccessDenied(
      `keystore file ${path} is accessible to group or others (mode ${octal}): run chmod 600 ${path}, or pass allowInsecurePermissions: true`,
    );
  }
}

export interface FileRead {
  readonly text: string;
  /** Of the very file read (fstat of the open handle). */
  readonly signature: string;
}

/**
 * Opens `path` for reading without blocking: O_NONBLOCK, so that a FIFO (or
 * a device) put in place of a file cannot hang the open waiting for a
 * writer; the caller checks the handle's own fstat (`isFile()`), which is of
 * the very thing opened (no check-then-open race). On regular files
 * O_NONBLOCK changes nothing. Windows has no FIFOs to fear and no flag.
 */
export function openForReading(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
}

/** Reads the whole file through one handle; refuses a file that is not regular or not private. */
export async function readKeystoreFile(path: string, allowInsecurePermissions: boolean): Promise<FileRead> {
  let handle: FileHandle;
  try {
    handle = await openForReading(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw new ProviderUnavailable(`keystore file ${path} no longer exists`);
    throw fileSystemError('read keystore file', path, error);
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) {
      // A FIFO, device, socket or directory in place of the file: never read from it.
      throw new Corrupted(`keystore file ${path} is corrupted: it is not a regular file`);
    }
    checkMode(path, st.mode, allowInsecurePermissions);
    if (st.size > BigInt(MAX_FILE_SIZE)) {
      throw new Corrupted(`keystore file ${path} is corrupted: larger than ${MAX_FILE_SIZE} bytes`);
    }
    const text = await handle.readFile('utf8');
    return { text, signature: signatureOf(st) };
  } catch (error) {
    if (isKeystoreError(error)) throw error;
    throw fileSystemError('read keystore file', path, error);
  } finally {
    await handle.close();
  }
}
