import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RepoLock } from '../src/store/repo-lock.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bb-lock-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const LOCK = '.keystore-blackbox.lock';

describe('RepoLock: one writer per checkout', () => {
  it('runs writers one after another, and removes its lock file after each', async () => {
    const dir = dataDir();
    const lock = new RepoLock(dir);
    const order: string[] = [];
    const slow = lock.run(async () => {
      order.push('a start');
      expect(existsSync(join(dir, LOCK))).toBe(true);
      await new Promise((r) => setTimeout(r, 30));
      order.push('a end');
    });
    const fast = lock.run(async () => {
      order.push('b');
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a start', 'a end', 'b']);
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });

  it("waits for another process's lock, and takes over one that was left a minute ago", async () => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK), '');
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, LOCK), old, old);
    await expect(new RepoLock(dir).run(async () => 'ran')).resolves.toBe('ran');
  });

  it('lets one of several waiters take over a stale lock: never two writers inside at once', async () => {
    for (let trial = 0; trial < 20; trial++) {
      const dir = dataDir();
      writeFileSync(join(dir, LOCK), 'dead writer');
      const old = new Date(Date.now() - 120_000);
      utimesSync(join(dir, LOCK), old, old);
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 3 }, () =>
          new RepoLock(dir).run(async () => {
            most = Math.max(most, ++inside);
            await new Promise((r) => setTimeout(r, 5));
            inside--;
          }),
        ),
      );
      expect(most).toBe(1);
      expect(existsSync(join(dir, LOCK))).toBe(false);
    }
  });

  it("leaves a lock that is no longer its own (another writer's) in place", async () => {
    const dir = dataDir();
    await new RepoLock(dir).run(async () => {
      writeFileSync(join(dir, LOCK), 'someone else');
    });
    expect(existsSync(join(dir, LOCK))).toBe(true);
  });

  it('refuses to write while the data directory holds a secret keyring, as Blackbox does', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'secring.gpg'), 'x');
    let ran = false;
    await expect(
      new RepoLock(dir).run(async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/secring\.gpg holds secret keys/),
    });
    expect(ran).toBe(false);
    writeFileSync(join(dir, 'secring.gpg'), '');
    await expect(new RepoLock(dir).run(async () => 'empty is fine')).resolves.toBe('empty is fine');
  });
});
