import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { symlinkRefused } from './regular-file.js';

/**
 * Replaces `path` with `data` so a reader (gpg, Blackbox's scripts, another
 * process of ours) sees the old file or the new one, never half of one, and a
 * crash leaves the old one: a temp file in the same directory (so rename stays
 * on one file system), fsync, rename over the target, fsync the directory.
 *
 * The mode is the one gpg gives (docs/blackbox-layout.md): an existing file
 * keeps its mode (`blackbox_postdeploy` copies a .gpg's mode onto the
 * plaintext, so it matters), a new one gets 0666 minus the umask. Unlike gpg,
 * which truncates in place, the file gets a new inode: owner is the writer,
 * hard links are broken.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const mode = await existingMode(path);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse something already at the temp name.
  const handle = await open(temp, 'wx', mode ?? 0o666);
  let renamed = false;
  try {
    try {
      // The umask may have narrowed the mode open() gave: set the old one exactly.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dirname(path));
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** The permission bits of a regular file at `path`; undefined if there is none. */
async function existingMode(path: string): Promise<number | undefined> {
  try {
    const stat = await lstat(path);
    // Never replace a symlink by a file of what it pointed at (readRegularFile refuses to read one too).
    if (stat.isSymbolicLink()) throw symlinkRefused(path);
    return stat.isFile() ? stat.mode & 0o7777 : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Makes the rename itself durable; some platforms cannot fsync a directory, and say so. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}
