import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  AccessDenied,
  Corrupted,
  isKeystoreError,
  ProviderUnavailable,
} from '../../../errors/keystore-error.js';
import { errnoOf, fileSystemError } from './errors.js';
import { signatureOf } from './location.js';

/**
 * Reading the keystore file: only a regular file, only a private one (the
 * permission check), only a small one, all through one open handle.
 */

/** Refuse to read more than this: a keystore file is small; a huge one is not ours. */
const MAX_FILE_SIZE = 64 * 1024 * 1024;

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
