import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { createKeystore } from '../../../keystore/create-keystore.js';

const temp = useTempDir();
let dir: string;
beforeEach(async () => {
  dir = temp.dir;
});

const versionsOnDisk = async (path: string, keyId: string) =>
  JSON.parse(await readFile(path, 'utf8')).keys[keyId].versions.map((v: { version: number }) => v.version);

describe('file provider within the keystore call timeout', () => {
  it('never writes after the call was reported as failed, even queued behind other writes', async () => {
    const path = join(dir, 'app.keystore.json');
    const ks = await createKeystore(
      {
        provider: {
          type: 'file',
          path,
          password: { value: 'pw' },
          create: true,
          kdf: { name: 'pbkdf2-sha256', iterations: 1000 },
          lockTimeoutMs: 1_000,
        },
        defaultKey: 'a',
        timeoutMs: 1_500,
      },
      { env: {} },
    );
    await ks.createKey('a');
    // Another process holds the write lock (a live pid, someone else's token).
    const lockPath = `${path}.lock`;
    await writeFile(
      lockPath,
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        createdAt: new Date().toISOString(),
        token: 'other',
      }),
    );
    const started = Date.now();
    // The second rotation queues behind the first in this process before it even tries the lock.
    const results = await Promise.allSettled([
      ks.rotate('a'),
      ks.rotate('a'),
      sleep(1_700).then(() => unlink(lockPath)),
    ]);
    const errors = results.slice(0, 2).map((r) => (r.status === 'rejected' ? r.reason : undefined));
    for (const error of errors) expect(error?.code).toBe('ProviderUnavailable');
    // Both gave up waiting for the lock within the call's time (the second, queued behind the
    // first, with what was left of it), rather than being cut off by the call timeout.
    for (const error of errors) {
      expect(error?.message).toMatch(/locked by another process: .* gave up after \d+ ms/);
      expect(error?.message).not.toMatch(/did not answer/);
    }
    expect(Date.now() - started).toBeLessThan(2_500);
    // Give any write still pending a chance to land: none may.
    await sleep(800);
    expect(await versionsOnDisk(path, 'a')).toEqual([1]);
    // With the lock free, a rotation goes through.
    await ks.rotate('a');
    expect(await versionsOnDisk(path, 'a')).toEqual([1, 2]);
    await ks.close();
  });
});
