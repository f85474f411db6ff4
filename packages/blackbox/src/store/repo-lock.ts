import { open, rm, stat, utimes } from 'node:fs/promises';
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
      await rm(this.#path, { force: true });
    }
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
