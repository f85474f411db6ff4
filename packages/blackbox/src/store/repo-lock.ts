import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, Conflict } from '@keystore/core/provider';

/** A lock file not touched for this long is taken to be a dead writer's. */
const STALE_MS = 60_000;
/** A live writer touches its lock file this often, so a long re-encryption is never taken for dead. */
const HEARTBEAT_MS = 10_000;
/** A takeover guard older than this was left by a waiter that died while taking over. */
const GUARD_STALE_MS = 10_000;
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
   * Removes a dead writer's lock. Only one waiter at a time may take over
   * (a guard file made with O_EXCL), and it removes the lock only if it is
   * still the very file seen stale (same inode, still untouched): a fresh
   * lock, whose writer touches it, is never removed. A guard left by a
   * crashed waiter is cleared after 10 s.
   */
  async #takeOverStale(): Promise<boolean> {
    const seen = await stat(this.#path).catch(() => undefined);
    if (seen === undefined) return true;
    if (Date.now() - seen.mtimeMs <= STALE_MS) return false;
    const guard = `${this.#path}.takeover`;
    try {
      await (await open(guard, 'wx', 0o600)).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(guard).catch(() => undefined);
      if (held !== undefined && Date.now() - held.mtimeMs > GUARD_STALE_MS) await rm(guard, { force: true });
      return false;
    }
    try {
      const now = await stat(this.#path).catch(() => undefined);
      const same = now !== undefined && now.ino === seen.ino && now.dev === seen.dev;
      if (same && Date.now() - now.mtimeMs > STALE_MS) await rm(this.#path, { force: true });
    } finally {
      await rm(guard, { force: true });
    }
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
