import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/**
 * A fresh temp directory for each test of the calling file (removed after
 * each), or with `per: 'file'` one for all of them (removed after the last),
 * and `path`, a file named `name` in it. Call it at the top of the file or a
 * describe block: its hooks run before the ones declared after it.
 */
export function useTempDir(
  name = 'app.keystore.json',
  per: 'test' | 'file' = 'test',
): { readonly dir: string; readonly path: string } {
  const current = { dir: '', path: '' };
  const [before, after] = per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    current.dir = await mkdtemp(join(tmpdir(), 'keystore-test-'));
    current.path = join(current.dir, name);
  });
  after(() => rm(current.dir, { recursive: true, force: true }));
  return current;
}
