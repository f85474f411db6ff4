import { open } from 'node:fs/promises';

/** A file's bytes and the identity of what was read (device, inode, size, mtime): read from one handle, so the two agree. */
export interface FileSnapshot {
  readonly bytes: Uint8Array;
  readonly stamp: string;
  readonly mtime: Date;
}

/** What identifies one version of a file on disk: a rename or a rewrite changes it. */
export function stampOf(s: {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** Reads a file, or `undefined` when it does not exist. */
export async function readSnapshot(path: string): Promise<FileSnapshot | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const s = await handle.stat();
    const bytes = new Uint8Array(await handle.readFile());
    return { bytes, stamp: stampOf(s), mtime: s.mtime };
  } finally {
    await handle.close();
  }
}
