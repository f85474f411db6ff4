import { describe, expect, it, vi } from 'vitest';
import { FAST_PBKDF2 } from '../../../../test/support/file-kdf.js';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { createKeystore } from '../../../keystore/create-keystore.js';
import { createFileStore } from './store.js';

/**
 * Concurrent reads share one re-read of a changed file. A re-read that never
 * finishes (a hung file system) must not outlive the call that waits on it:
 * the caller gives up at its deadline, and the next call reads afresh
 * instead of joining the hung one for good.
 */
const hooks = vi.hoisted(() => ({ hang: false }));
vi.mock('../disk/read.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../disk/read.js')>();
  return {
    ...actual,
    readKeystoreFile: (...args: Parameters<typeof actual.readKeystoreFile>) =>
      hooks.hang ? new Promise<never>(() => {}) : actual.readKeystoreFile(...args),
  };
});

const at = useTempDir();

describe('file provider: a pending re-read and the call deadline', () => {
  it('a call gives up on a hung re-read at its deadline, and the next call is not wedged behind it', async () => {
    const ks = await createKeystore(
      {
        provider: { type: 'file', path: at.path, password: { value: 'pw' }, create: true, kdf: FAST_PBKDF2 },
        defaultKey: 'a',
        timeoutMs: 400,
      },
      { env: {} },
    );
    await ks.createKey('a');
    // Another writer changes the file: the next read re-reads it.
    const other = await createFileStore({ path: at.path, password: 'pw' });
    const key = await other.load('a');
    if (key === undefined) throw new Error('no key');
    await other.save?.({ ...key, description: 'changed' }, 1);
    await other.close();

    hooks.hang = true;
    const started = Date.now();
    await expect(ks.encrypt('x')).rejects.toMatchObject({ code: 'ProviderUnavailable' });
    expect(Date.now() - started).toBeLessThan(1_000);
    hooks.hang = false;
    // The hung re-read is still pending (it never settles); this call reads the file afresh.
    expect(await ks.decrypt(await ks.encrypt('x'))).toEqual(new TextEncoder().encode('x'));
    await ks.close();
  }, 5_000);
});
