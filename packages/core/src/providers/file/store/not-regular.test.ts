import { execFileSync } from 'node:child_process';
import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import { copyFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST_PBKDF2 } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { createFileProvider } from '../provider.js';
import { createFileStore } from './store.js';

/**
 * Something that is not a regular file where the keystore file (or its lock
 * file) should be: a FIFO would block an open for reading until a writer
 * comes, wedging the provider for good. It is refused at once instead.
 */
const PASSWORD = 'pw';
const at = useTempDir();
const fifos: string[] = [];

function mkfifo(path: string): void {
  execFileSync('mkfifo', ['-m', '600', path]);
  fifos.push(path);
}

// Releases a reader blocked opening a FIFO (code without the fix), so that a failing test does not hang the worker.
afterEach(() => {
  for (const fifo of fifos.splice(0)) {
    try {
      if (!lstatSync(fifo).isFIFO()) continue;
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader waiting, or gone.
    }
  }
});

describe.skipIf(process.platform === 'win32')('file provider: not a regular file', () => {
  it('an open provider refuses a FIFO renamed over its file, at once, and recovers when the file is back', async () => {
    const provider = await createFileProvider({
      path: at.path,
      password: PASSWORD,
      create: true,
      kdf: FAST_PBKDF2,
    });
    await provider.createKey?.('a');
    const good = join(at.dir, 'good.json');
    await copyFile(at.path, good);
    const fifo = join(at.dir, 'fifo');
    mkfifo(fifo);
    await rename(fifo, at.path);
    fifos.push(at.path);
    const started = Date.now();
    await expect(provider.getKey?.('a') ?? Promise.resolve()).rejects.toMatchObject({
      code: 'Corrupted',
      message: expect.stringContaining('not a regular file'),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    // A write is refused the same way (under the lock, the file is re-read).
    await expect(provider.rotateKey?.('a') ?? Promise.resolve()).rejects.toMatchObject({
      message: expect.stringContaining('not a regular file'),
    });
    // Not wedged: with the file back, it works.
    await rename(good, at.path);
    expect((await provider.getKey?.('a'))?.version).toBe(1);
    await provider.close();
  }, 3_000);

  it('refuses to open a FIFO as the keystore file, at once', async () => {
    mkfifo(at.path);
    await expect(createFileStore({ path: at.path, password: PASSWORD })).rejects.toMatchObject({
      code: 'Corrupted',
      message: expect.stringContaining('not a regular file'),
    });
  }, 3_000);

  it('does not block on a FIFO in place of the lock file: the write gives up after lockTimeoutMs', async () => {
    const store = await createFileStore({
      path: at.path,
      password: PASSWORD,
      create: true,
      kdf: FAST_PBKDF2,
      lockTimeoutMs: 200,
    });
    mkfifo(`${at.path}.lock`);
    const now = new Date().toISOString();
    const key = {
      keyId: 'a',
      createdAt: now,
      versions: [{ version: 1, createdAt: now, state: 'enabled' as const, material: new Uint8Array(32) }],
    };
    await expect(store.save?.(key, 0) ?? Promise.resolve()).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringContaining(`${at.path}.lock`),
    });
    await store.close();
  }, 3_000);
});
