import { isKeystoreError, ProviderUnavailable } from '../../../errors/keystore-error.js';
import { atomicWriteFile, ReplacedNotDurable, removeLeftoverTemps } from './atomic-write.js';
import { fileSystemError } from './errors.js';

/**
 * Replaces the keystore file with `text` atomically (temp file, fsync,
 * rename), mode 0600. Call it holding the lock: it first removes temp files
 * that crashed writers left more than `leftoverAgeMs` ago (the lock's
 * staleness age, when no live writer's temp file can be that old; 0 removes
 * them all).
 */
export async function writeKeystoreFile(
  path: string,
  text: string,
  leftoverAgeMs: number,
  /** Runs after the temp file is durable, just before the rename; throwing cancels the write. */
  beforeRename?: () => Promise<void>,
): Promise<void> {
  try {
    await removeLeftoverTemps(path, leftoverAgeMs);
    await atomicWriteFile(path, text, beforeRename);
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
