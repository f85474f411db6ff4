import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Conflict } from '@keystore/core/provider';

/** A writer holding the lock longer than this is taken to have died. */
const STALE_MS = 60_000;
const WAIT_MS = 10_000;
const LOCK_FILE = '.keystore-blackbox.lock';

/**
 * One writer at a time per repository checkout, across processes: a lock
 * file created with O_EXCL in the data directory (git does not see it if
 * ignored; it exists only while a write runs). In this process, writers queue
 * behind each other first, so the file is only contended between processes.
 */
export class RepoLock {
  readonly #path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dataDirAbs: string) {
    this.#path = join(dataDirAbs, LOCK_FILE);
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(() => this.#locked(task));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #locked<T>(task: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        const handle = await open(this.#path, 'wx', 0o600);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const since = await stat(this.#path).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (since > STALE_MS) await rm(this.#path, { force: true });
        else if (Date.now() > deadline) {
          throw new Conflict(
            `blackbox: another writer holds ${this.#path}; try again (remove it if no writer runs)`,
          );
        } else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      return await task();
    } finally {
      await rm(this.#path, { force: true });
    }
  }
}
