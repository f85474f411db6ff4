import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../../test/support/temp-dir.js';
import { atomicWriteFile, removeLeftoverTemps, tempPathFor } from './atomic-write.js';

const temp = useTempDir();
let dir: string;
let path: string;

beforeEach(async () => {
  dir = temp.dir;
  path = join(dir, 'target.json');
});

describe('atomicWriteFile', () => {
  it('replaces the file with mode 0600, leaving no temp file', async () => {
    await writeFile(path, 'old', { mode: 0o644 });
    await atomicWriteFile(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['target.json']);
  });

  it('leaves the old file and no temp file when the write is cancelled before the rename', async () => {
    await writeFile(path, 'old');
    await expect(
      atomicWriteFile(path, 'new', async () => {
        expect((await readdir(dir)).length).toBe(2);
        throw new Error('changed meanwhile');
      }),
    ).rejects.toThrow('changed meanwhile');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['target.json']);
  });

  it('fails cleanly when the directory is missing', async () => {
    await expect(atomicWriteFile(join(dir, 'no', 'file'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a reader never sees a partial file while writes go on', async () => {
    const big = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(256 * 1024) });
    await atomicWriteFile(path, big(0));
    let writing = true;
    const reads: number[] = [];
    const reader = (async () => {
      while (writing) reads.push(JSON.parse(await readFile(path, 'utf8')).i);
    })();
    for (let i = 1; i <= 30; i++) await atomicWriteFile(path, big(i));
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual(['target.json']);
  });
});

describe('removeLeftoverTemps', () => {
  it("removes this file's temp files older than the given age, and nothing else", async () => {
    await writeFile(path, 'keystore');
    const old = new Date(Date.now() - 120_000);
    const stale = tempPathFor(path);
    const fresh = tempPathFor(path);
    const otherFiles = tempPathFor(join(dir, 'other.json'));
    const lookalike = join(dir, '.target.json.not-hex-at-all.tmp');
    for (const p of [stale, fresh, otherFiles, lookalike]) await writeFile(p, 'earlier state');
    for (const p of [stale, otherFiles, lookalike]) await utimes(p, old, old);

    expect(await removeLeftoverTemps(path, 60_000)).toBe(1);
    const left = await readdir(dir);
    expect(left).not.toContain(stale.slice(dir.length + 1));
    expect(left.sort()).toEqual(
      [fresh, otherFiles, lookalike, path].map((p) => p.slice(dir.length + 1)).sort(),
    );
    expect(await removeLeftoverTemps(join(dir, 'missing', 'x.json'), 0)).toBe(0);
  });
});
