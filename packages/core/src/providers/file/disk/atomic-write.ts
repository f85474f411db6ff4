import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const FILE_MODE = 0o600;

/** The name of a temp file next to `path`: `.<name>.<random>.tmp`, in the same directory (so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes temp files of `path` (see `tempPathFor`) last modified more than
 * `olderThanMs` ago: left by a writer that crashed between creating its temp
 * file and the rename. They hold an earlier state of the keystore (sealed
 * under the secret of its time), so they must not linger after a secret
 * change. Call it only while holding the keystore's lock, with the lock's
 * staleness age: a live writer's temp file is never that old. Best effort:
 * a file that cannot be removed is left.
 * @returns how many were removed
 */
export async function removeLeftoverTemps(path: string, olderThanMs: number): Promise<number> {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const cutoff = Date.now() - olderThanMs;
  for (const entry of entries) {
    if (TEMP_NAME.exec(entry)?.[1] !== name) continue;
    const temp = join(dir, entry);
    try {
      if ((await stat(temp)).mtimeMs > cutoff) continue;
      await unlink(temp);
      removed++;
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed;
}

/**
 * Replaces `path` with `data` so that a reader, or a crash, sees either the
 * old file or the new one, never a mix: a temp file in the same directory
 * (mode 0600, created exclusively), fsync, rename over the target, fsync of
 * the directory so the rename itself is durable. The temp file is removed
 * if anything fails before the rename (or `beforeRename` throws).
 */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  /** Runs after the temp file is durable, just before the rename; throwing cancels the write. */
  beforeRename?: () => Promise<void>,
): Promise<void> {
  const temp = tempPathFor(path);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', FILE_MODE);
    try {
      // The umask can only clear bits; chmod makes the mode exactly 0600 whatever it is.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await beforeRename?.();
    await rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
  try {
    await syncDirectory(dirname(path));
  } catch (error) {
    throw new ReplacedNotDurable(error);
  }
}

/**
 * The file was replaced (every reader sees the new content), but its
 * directory could not be synced, so the rename might not survive a crash.
 * Distinct from a failed write, which leaves the old file in place: callers
 * must not report this one as "nothing changed".
 */
export class ReplacedNotDurable extends Error {
  readonly code: string;
  constructor(cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
    super(`replaced, but the directory sync failed (${code})`);
    this.name = 'ReplacedNotDurable';
    this.code = code;
  }
}

/** fsyncs a directory; platforms that cannot (Windows) are skipped. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF' && code !== 'EACCES') {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}
