import { randomBytes } from 'node:crypto';
import { open, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderUnavailable } from '../../../errors/keystore-error.js';
import { callTimeLeftMs } from '../../../provider/call-deadline.js';
import { FILE_MODE } from './atomic-write.js';
import { errnoOf, fileSystemError } from './errors.js';
import { openForReading } from './read.js';

/**
 * An exclusive lock between processes: a lock file created with O_EXCL
 * (`wx`) that holds its owner's pid, host name, time and a random token.
 * Waiting is a bounded retry with jittered backoff, then `ProviderUnavailable` naming
 * the lock file. A stale lock (its owner's pid is dead on this host, or it
 * is older than `staleMs`) is broken, under a second short-lived lock
 * (`<lock>.break`) so that two processes breaking the same stale lock
 * cannot remove a fresh one by mistake.
 *
 * Within one process, holders of the same lock path queue on a promise
 * chain rather than polling the file.
 */
export interface FileLockOptions {
  /** Give up waiting after this many milliseconds (default 10,000). */
  readonly timeoutMs?: number;
  /** A lock older than this many milliseconds is stale whoever holds it (default 60,000). */
  readonly staleMs?: number;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_STALE_LOCK_MS = 60_000;
/** A `.break` lock lives for a few file operations; older than this, its owner died. */
const BREAKER_STALE_MS = 5_000;

export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly createdAt: string;
  readonly token: string;
}

interface LockState {
  readonly owner: LockOwner | undefined;
  readonly mtimeMs: number;
}

const queues = new Map<string, Promise<unknown>>();

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner> | null;
    if (
      o !== null &&
      typeof o === 'object' &&
      Number.isSafeInteger(o.pid) &&
      (o.pid as number) > 0 &&
      typeof o.hostname === 'string' &&
      typeof o.createdAt === 'string' &&
      typeof o.token === 'string'
    ) {
      return {
        pid: o.pid as number,
        hostname: o.hostname.slice(0, 255),
        createdAt: o.createdAt.slice(0, 64),
        token: o.token,
      };
    }
  } catch {
    // An empty or partial lock file: its owner died between creating and writing it, or is writing it now.
  }
  return undefined;
}

/** Lock files are tiny; a larger one is not a lock we wrote. */
const MAX_LOCK_FILE_SIZE = 4096;

async function readState(lockPath: string): Promise<LockState | undefined> {
  try {
    // Without blocking: a FIFO put in place of the lock file must not hang the writer.
    const handle = await openForReading(lockPath);
    try {
      const info = await handle.stat();
      // Something else than a lock we could have written: no owner, so it goes by its age only.
      if (!info.isFile() || info.size > MAX_LOCK_FILE_SIZE)
        return { owner: undefined, mtimeMs: info.mtimeMs };
      return { owner: parseOwner(await handle.readFile('utf8')), mtimeMs: info.mtimeMs };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw fileSystemError('read the lock file', lockPath, error);
  }
}

/** Whether a process with this pid exists (on this host). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errnoOf(error) === 'EPERM';
  }
}

function isStale(state: LockState, staleMs: number): boolean {
  const { owner } = state;
  if (owner !== undefined && owner.hostname === hostname() && !isProcessAlive(owner.pid)) return true;
  return Date.now() - state.mtimeMs > staleMs;
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', FILE_MODE);
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw fileSystemError('create the lock file', path, error);
  }
  try {
    await handle.writeFile(content);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw fileSystemError('write the lock file', path, error);
  }
  await handle.close();
  return true;
}

/** Removes `lockPath` if it is (still) stale, under the `.break` lock. Whether it was broken. */
async function breakStaleLock(lockPath: string, staleMs: number): Promise<boolean> {
  const breaker = `${lockPath}.break`;
  if (!(await createExclusive(breaker, String(process.pid)))) {
    try {
      if (Date.now() - (await stat(breaker)).mtimeMs > BREAKER_STALE_MS) await unlink(breaker);
    } catch {
      // Gone already, or another process removed it first.
    }
    return false;
  }
  try {
    // Re-checked under the breaker: nobody else removes lock files meanwhile, so this is the stale one.
    const state = await readState(lockPath);
    if (state === undefined) return true;
    if (!isStale(state, staleMs)) return false;
    try {
      await unlink(lockPath);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw fileSystemError('remove the stale lock file', lockPath, error);
    }
    return true;
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

function describeOwner(state: LockState | undefined): string {
  const owner = state?.owner;
  return owner === undefined
    ? ''
    : ` (held by pid ${owner.pid} on host ${owner.hostname} since ${owner.createdAt})`;
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<LockOwner> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_LOCK_MS;
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    createdAt: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
  };
  const content = JSON.stringify(owner);
  // Within a guarded call, never wait past the time the call has left (the wait may have
  // started late, behind this process's earlier writes to the same file).
  const callLeft = callTimeLeftMs() ?? Number.POSITIVE_INFINITY;
  if (callLeft <= 0) {
    throw new ProviderUnavailable(
      `the call ran out of time before it could take the lock ${lockPath} (this process's earlier writes to the keystore go first); nothing was written`,
    );
  }
  const deadline = performance.now() + Math.min(timeoutMs, callLeft);
  for (let attempt = 0; ; attempt++) {
    if (await createExclusive(lockPath, content)) return owner;
    const state = await readState(lockPath);
    if (state !== undefined && isStale(state, staleMs) && (await breakStaleLock(lockPath, staleMs))) continue;
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new ProviderUnavailable(
        `the keystore is locked by another process: lock file ${lockPath}${describeOwner(state)}; ` +
          `gave up after ${Math.min(timeoutMs, Math.max(0, Math.round(callLeft)))} ms. ` +
          `If no process is using the keystore, delete ${lockPath}`,
      );
    }
    if (state === undefined) continue; // released meanwhile: try again at once
    const backoff = Math.min(250, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
    await sleep(Math.max(1, Math.min(left, backoff)));
  }
}

async function release(lockPath: string, owner: LockOwner): Promise<void> {
  const state = await readState(lockPath).catch(() => undefined);
  // Only our own lock: if it was broken as stale, it belongs to someone else now.
  if (state?.owner?.token !== owner.token) return;
  await unlink(lockPath).catch(() => {});
}

/** Runs `fn` holding the lock `lockPath`; the lock is released however `fn` ends. */
export async function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve();
  const run = previous
    .catch(() => {})
    .then(async () => {
      const owner = await acquire(lockPath, options);
      try {
        return await fn();
      } finally {
        await release(lockPath, owner);
      }
    });
  const settled = run.catch(() => {});
  queues.set(lockPath, settled);
  settled.then(() => {
    if (queues.get(lockPath) === settled) queues.delete(lockPath);
  });
  return run;
}
