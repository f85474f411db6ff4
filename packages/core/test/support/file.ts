import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { KeystoreError } from '../../src/errors/keystore-error.js';
import type { KdfOptions } from '../../src/providers/file/format/kdf.js';

/** Test-only costs: the lowest the provider accepts. */
export const FAST_SCRYPT: KdfOptions = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 };
export const FAST_PBKDF2: KdfOptions = { name: 'pbkdf2-sha256', iterations: 1_000 };

/** A fresh directory under the system temp dir; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'keystore-file-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<KeystoreError> {
  try {
    await promise;
  } catch (error) {
    return error as KeystoreError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/**
 * A fresh temp directory for each test of the calling file (removed after
 * each), and `path`, a file named `name` in it.
 */
export function useTempDir(name = 'app.keystore.json'): { readonly dir: string; readonly path: string } {
  const current = { dir: '', path: '' };
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const made = await tempDir();
    cleanup = made.cleanup;
    current.dir = made.dir;
    current.path = join(made.dir, name);
  });
  afterEach(() => cleanup?.());
  return current;
}
