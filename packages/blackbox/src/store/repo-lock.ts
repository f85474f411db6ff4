import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, Conflict } from '@keystore/core/provider';

/** A lock file not touched for this long is taken to be a dead writer's. */
const STALE_MS = 60_000;
/** A live writer touches its lock file this often, so a long re-encryption is never taken for dead. */
const HEARTBEAT_MS = 10_000;
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
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + WAIT_MS;
    while (!(await this.#tryCreate(token))) {
      if (await this.#takeOverStale()) continue;
      if (Date.now() > deadline) {
        throw new Conflict(
          `blackbox: another writer holds ${this.#path}; try again (remove it if no writer runs)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const heartbeat = setInterval(() => {
      const now = new Date();
      utimes(this.#path, now, now).catch(() => undefined);
    }, HEARTBEAT_MS);
    heartbeat.unref();
    try {
      await refuseSecretKeyring(dirname(this.#path));
      return await task();
    } finally {
      clearInterval(heartbeat);
      await this.#release(token);
    }
  }

  /** Creates the lock file holding our token; false if one exists. */
  async #tryCreate(token: string): Promise<boolean> {
    try {
      const handle = await open(this.#path, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /**
   * Moves a dead writer's lock out of the way, atomically: of several waiters
   * that all saw it stale, one rename succeeds. If what was renamed is not
   * the file seen stale (another waiter took over and made a fresh lock in
   * between), it is put back.
   */
  async #takeOverStale(): Promise<boolean> {
    const seen = await stat(this.#path).catch(() => undefined);
    if (seen === undefined) return true;
    if (Date.now() - seen.mtimeMs <= STALE_MS) return false;
    const aside = `${this.#path}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(this.#path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    const moved = await stat(aside);
    if (moved.ino !== seen.ino || moved.dev !== seen.dev) {
      await link(aside, this.#path).catch(() => undefined);
    }
    await rm(aside, { force: true });
    return true;
  }

  /** Removes the lock file only if it is still ours (a writer that outlived the stale limit may have lost it). */
  async #release(token: string): Promise<void> {
    const held = await readFile(this.#path, 'utf8').catch(() => undefined);
    if (held === token) await rm(this.#path, { force: true });
  }
}

/**
 * Blackbox refuses to write while the data directory holds a non-empty
 * `secring.gpg` (`fail_if_keychain_has_secrets`): someone's secret keys
 * would be committed with the repository. So do we.
 */
async function refuseSecretKeyring(dataDir: string): Promise<void> {
  const secring = join(dataDir, 'secring.gpg');
  const size = await stat(secring).then(
    (s) => s.size,
    () => 0,
  );
  if (size > 0) {
    throw new ConfigError(
      `blackbox: ${secring} holds secret keys; remove it from the repository (and from git) before writing, as Blackbox requires`,
    );
  }
}
