import { spawn } from 'node:child_process';
import { access, readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { isProcessAlive, withFileLock } from './lock.js';

const temp = useTempDir();
let dir: string;
let lockPath: string;

beforeEach(async () => {
  dir = temp.dir;
  lockPath = join(dir, 'ks.json.lock');
});

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

function lockOf(owner: { pid: number; hostname?: string; token?: string }): string {
  return JSON.stringify({
    pid: owner.pid,
    hostname: owner.hostname ?? hostname(),
    createdAt: new Date().toISOString(),
    token: owner.token ?? 'someone-else',
  });
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  const pid = child.pid as number;
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

describe('file lock', () => {
  it('holds the lock file while fn runs, with pid and host, and removes it after, also on failure', async () => {
    await withFileLock(lockPath, {}, async () => {
      const owner = JSON.parse(await readFile(lockPath, 'utf8'));
      expect(owner).toMatchObject({ pid: process.pid, hostname: hostname() });
    });
    expect(await exists(lockPath)).toBe(false);
    await expect(
      withFileLock(lockPath, {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await exists(lockPath)).toBe(false);
  });

  it('runs holders one at a time', async () => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(lockPath, {}, async () => {
          most = Math.max(most, ++inside);
          await sleep(5);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('waits for a live owner to release', async () => {
    await writeFile(lockPath, lockOf({ pid: process.pid }), { flag: 'wx' });
    setTimeout(() => void unlink(lockPath), 150);
    const started = Date.now();
    await withFileLock(lockPath, { timeoutMs: 5_000 }, async () => {});
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('gives up after the timeout with ProviderUnavailable naming the lock file, and leaves a live lock alone', async () => {
    await writeFile(lockPath, lockOf({ pid: process.pid }), { flag: 'wx' });
    const started = Date.now();
    const attempt = withFileLock(lockPath, { timeoutMs: 300 }, async () => {});
    await expect(attempt).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringContaining(lockPath),
    });
    await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining(`pid ${process.pid}`) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(JSON.parse(await readFile(lockPath, 'utf8')).token).toBe('someone-else');
  });

  it('breaks at once a lock whose owner pid is dead on this host', async () => {
    await writeFile(lockPath, lockOf({ pid: await deadPid() }), { flag: 'wx' });
    const started = Date.now();
    let ran = false;
    await withFileLock(lockPath, { timeoutMs: 10_000 }, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await exists(lockPath)).toBe(false);
  });

  it('does not judge a pid from another host, but breaks a lock older than staleMs', async () => {
    await writeFile(lockPath, lockOf({ pid: await deadPid(), hostname: 'elsewhere' }), { flag: 'wx' });
    await expect(withFileLock(lockPath, { timeoutMs: 200 }, async () => {})).rejects.toMatchObject({
      code: 'ProviderUnavailable',
    });
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    await withFileLock(lockPath, { timeoutMs: 1_000 }, async () => {});
    expect(await exists(lockPath)).toBe(false);
  });

  it('treats an unreadable lock as live until it is stale', async () => {
    await writeFile(lockPath, '', { flag: 'wx' });
    await expect(withFileLock(lockPath, { timeoutMs: 200 }, async () => {})).rejects.toMatchObject({
      code: 'ProviderUnavailable',
    });
    const old = new Date(Date.now() - 5_000);
    await utimes(lockPath, old, old);
    await withFileLock(lockPath, { timeoutMs: 1_000, staleMs: 1_000 }, async () => {});
  });

  it('removes a leftover breaker lock and then the stale lock', async () => {
    await writeFile(lockPath, lockOf({ pid: await deadPid() }), { flag: 'wx' });
    await writeFile(`${lockPath}.break`, '1', { flag: 'wx' });
    const old = new Date(Date.now() - 60_000);
    await utimes(`${lockPath}.break`, old, old);
    await withFileLock(lockPath, { timeoutMs: 2_000 }, async () => {});
    expect(await exists(`${lockPath}.break`)).toBe(false);
    expect(await exists(lockPath)).toBe(false);
  });

  it('does not remove a lock that is no longer its own', async () => {
    await withFileLock(lockPath, {}, async () => {
      // Someone broke our lock as stale and holds it now.
      await writeFile(lockPath, lockOf({ pid: process.pid, token: 'new-owner' }));
    });
    expect(JSON.parse(await readFile(lockPath, 'utf8')).token).toBe('new-owner');
  });
});
