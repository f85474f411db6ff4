import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { createKeystore } from '../../../keystore/create-keystore.js';

/**
 * A keystore call that times out has one outcome: nothing written, or a write
 * the caller is told about. Slow file-system steps are simulated around the
 * commit point (the rename that replaces the keystore file).
 */
const slow = vi.hoisted(() => ({ renameMs: 0, statMs: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (...args: Parameters<typeof real.rename>) => {
      if (slow.renameMs > 0) await sleep(slow.renameMs);
      return real.rename(...args);
    },
    stat: async (...args: Parameters<typeof real.stat>) => {
      if (slow.statMs > 0) await sleep(slow.statMs);
      return real.stat(...args);
    },
  };
});

const temp = useTempDir();
beforeEach(() => {
  slow.renameMs = 0;
  slow.statMs = 0;
});

const versionsOnDisk = async (path: string) =>
  JSON.parse(await readFile(path, 'utf8')).keys.a.versions.map((v: { version: number }) => v.version);

async function keystore(timeoutMs: number) {
  const ks = await createKeystore(
    {
      provider: {
        type: 'file',
        path: temp.path,
        password: { value: 'pw' },
        create: true,
        kdf: { name: 'pbkdf2-sha256', iterations: 1000 },
      },
      defaultKey: 'a',
      timeoutMs,
    },
    { env: {} },
  );
  await ks.createKey('a');
  return ks;
}

describe('file provider: the commit point and the call timeout', () => {
  it('a rename slower than the timeout is waited for: the rotation succeeds and is reported', async () => {
    const ks = await keystore(400);
    slow.renameMs = 600;
    const rotated = await ks.rotate('a');
    expect(rotated.latestVersion).toBe(2);
    expect(await versionsOnDisk(temp.path)).toEqual([1, 2]);
    await ks.close();
  });

  it('a step before the commit that outlasts the timeout: the rotation fails and nothing is written', async () => {
    const ks = await keystore(400);
    // Every stat is slow: the write reaches its commit point only after the call timed out.
    slow.statMs = 250;
    await expect(ks.rotate('a')).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(/did not answer rotateKey within 400 ms/),
    });
    await sleep(1_500);
    slow.statMs = 0;
    expect(await versionsOnDisk(temp.path)).toEqual([1]);
    await ks.close();
  });
});
