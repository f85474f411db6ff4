import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKeystoreError } from '@keystore/core';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/repo/atomic-write.js';
import { addToGitignore, ignoreLine } from '../src/repo/gitignore.js';
import { findLayout } from '../src/repo/layout.js';
import {
  parseAdmins,
  parseFiles,
  registerFile,
  sortAdmins,
  sortFiles,
  writeAdmins,
} from '../src/repo/lists.js';
import { keyIdOf, keyPathsOf, resolveKeyPaths } from '../src/repo/paths.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bbrepo-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return isKeystoreError(error) ? error.code : `not ours: ${String(error)}`;
  }
  return undefined;
}

/** A repository as blackbox_initialize leaves it, in `dataDir`. */
function initRepo(dataDir = '.blackbox'): string {
  const root = tempDir();
  mkdirSync(join(root, dataDir), { recursive: true });
  writeFileSync(join(root, dataDir, 'blackbox-admins.txt'), '');
  writeFileSync(join(root, dataDir, 'blackbox-files.txt'), '');
  return root;
}

describe('lists', () => {
  it('reads admins as encrypt_file does: first field, blank lines skipped, no repeats', () => {
    const text =
      ' alice@example.com  Alice Smith\n\n\tbob@example.com\t\n   \nalice@example.com\ncarol@example.com';
    expect(parseAdmins(bytes(text), 'admins')).toEqual([
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);
  });

  it('reads files as postdeploy does: whole lines with their spaces, blank lines skipped', () => {
    expect(parseFiles(bytes('keys/a\n\nkeys/b \nkeys/a\nlast'), 'files')).toEqual([
      'keys/a',
      'keys/b ',
      'last',
    ]);
  });

  it('refuses CRLF and non-UTF-8 with ConfigError naming file and line, not content', () => {
    for (const parse of [parseAdmins, parseFiles]) {
      try {
        parse(bytes('a@x.com\nsecret-ish\r\n'), '/r/.blackbox/blackbox-files.txt');
        expect.unreachable();
      } catch (error) {
        expect(isKeystoreError(error, 'ConfigError')).toBe(true);
        expect((error as Error).message).toContain('/r/.blackbox/blackbox-files.txt line 2');
        expect((error as Error).message).not.toContain('secret-ish');
      }
      expect(() => parse(new Uint8Array([0x61, 0xff, 0x0a]), 'f')).toThrow(/not UTF-8/);
    }
  });

  it('sorts admins in the order of LC_ALL=C sort -fd, but keeps admins sort -fdu would merge', () => {
    const admins = [
      'bob@x.com',
      'ab@x.com',
      'Zed@x.com',
      'a.b@x.com',
      'alice@x.com',
      'Alice@x.com',
      'a_c@x.com',
      'ab@x.com',
    ];
    const sorted = sortAdmins(admins);
    expect(sorted).toEqual([
      'a.b@x.com',
      'ab@x.com',
      'a_c@x.com',
      'Alice@x.com',
      'alice@x.com',
      'bob@x.com',
      'Zed@x.com',
    ]);
    const gnu = spawnSync('sort', ['-fd'], {
      input: `${[...new Set(admins)].join('\n')}\n`,
      env: { LC_ALL: 'C' },
    });
    expect(gnu.stdout.toString().trimEnd().split('\n')).toEqual(sorted);
    // What blackbox_addadmin would keep: one of each pair, an admin silently lost.
    const gnuUnique = spawnSync('sort', ['-fdu'], { input: `${admins.join('\n')}\n`, env: { LC_ALL: 'C' } });
    expect(gnuUnique.stdout.toString().trimEnd().split('\n').length).toBeLessThan(sorted.length);
  });

  it('sorts files as LC_ALL=C sort -u: UTF-8 bytes, not UTF-16 units', () => {
    const files = ['keys/\u{1F511}', 'keys/\uFF21', 'keys/B', 'keys/a', 'keys/B'];
    expect(sortFiles(files)).toEqual(['keys/B', 'keys/a', 'keys/\uFF21', 'keys/\u{1F511}']);
    const gnu = spawnSync('sort', ['-u'], { input: `${files.join('\n')}\n`, env: { LC_ALL: 'C' } });
    expect(gnu.stdout.toString().trimEnd().split('\n')).toEqual(sortFiles(files));
  });

  it('registers a file once, sorted, with a newline after the last line', async () => {
    const file = join(tempDir(), 'blackbox-files.txt');
    writeFileSync(file, 'zeta\nalpha'); // a hand edit without the last newline
    expect(await registerFile(file, 'keys/m')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('alpha\nkeys/m\nzeta\n');
    expect(await registerFile(file, 'keys/m')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('alpha\nkeys/m\nzeta\n');
  });

  it('refuses to write an admin with a blank in it, which Blackbox would cut', async () => {
    const file = join(tempDir(), 'blackbox-admins.txt');
    expect(await codeOf(writeAdmins(file, ['Alice Smith <a@x.com>']))).toBe('ConfigError');
    await writeAdmins(file, ['b@x.com', 'a@x.com']);
    expect(readFileSync(file, 'utf8')).toBe('a@x.com\nb@x.com\n');
  });
});

describe('gitignore', () => {
  it('adds /<path> once, escaping * and ?, keeping what is there', async () => {
    const root = tempDir();
    expect(ignoreLine('keys/a*b?c')).toBe('/keys/a\\*b\\?c');
    writeFileSync(join(root, '.gitignore'), 'node_modules'); // no newline at the end
    expect(await addToGitignore(root, 'keys/patients')).toBe(true);
    expect(await addToGitignore(root, 'keys/patients')).toBe(false);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe('node_modules\n/keys/patients\n');
  });

  it('creates .gitignore, and sees a line already there in a CRLF file', async () => {
    const root = tempDir();
    expect(await addToGitignore(root, 'keys/a')).toBe(true);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe('/keys/a\n');
    writeFileSync(join(root, '.gitignore'), '/keys/b\r\n');
    expect(await addToGitignore(root, 'keys/b')).toBe(false);
  });
});

describe('paths', () => {
  it('maps a key id to its registered path and ciphertext', () => {
    expect(keyPathsOf('/r', 'keys', 'tenant/patients')).toEqual({
      plainRel: 'keys/tenant/patients',
      encryptedAbs: '/r/keys/tenant/patients.gpg',
    });
    expect(keyIdOf('keys', 'keys/tenant/patients')).toBe('tenant/patients');
    expect(keyIdOf('keys', 'config/db.yml')).toBeUndefined();
    expect(keyIdOf('keys', 'keys/../x')).toBeUndefined();
  });

  it('refuses ids that leave keysDir or name a ciphertext, naming the id', async () => {
    for (const id of [
      '..',
      '../x',
      'a/../../x',
      'a//b',
      './a',
      'a/',
      '/etc/passwd',
      'x.gpg',
      'X.GPG',
      'a\\..\\b',
      '',
    ]) {
      let error: unknown;
      try {
        keyPathsOf('/r', 'keys', id);
      } catch (caught) {
        error = caught;
      }
      expect(isKeystoreError(error, 'InvalidArgument'), id).toBe(true);
    }
    expect(() => keyPathsOf('/r', 'keys', '../x')).toThrow("'../x'");
    for (const keysDir of ['..', '../k', '/abs', 'a/../b', '']) {
      expect(await codeOf(() => keyPathsOf('/r', keysDir, 'a')), keysDir).toBe('ConfigError');
    }
  });

  it('refuses a symlinked directory out of the repository and a symlinked .gpg, reading neither', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'x.gpg'), 'not to be read');
    const root = initRepo();
    mkdirSync(join(root, 'keys'));
    symlinkSync(outside, join(root, 'keys', 'out'));
    symlinkSync(join(outside, 'x.gpg'), join(root, 'keys', 'link.gpg'));
    mkdirSync(join(root, 'keys', 'inner'));
    symlinkSync(join(root, 'keys', 'inner'), join(root, 'keys', 'alias')); // stays inside: fine
    expect(await codeOf(resolveKeyPaths(root, 'keys', 'out/x'))).toBe('InvalidArgument');
    expect(await codeOf(resolveKeyPaths(root, 'keys', 'link'))).toBe('InvalidArgument');
    expect((await resolveKeyPaths(root, 'keys', 'alias/k')).plainRel).toBe('keys/alias/k');
    expect((await resolveKeyPaths(root, 'keys', 'not/yet/there')).encryptedAbs).toBe(
      join(root, 'keys/not/yet/there.gpg'),
    );
    // keysDir itself a symlink out
    symlinkSync(outside, join(root, 'elsewhere'));
    expect(await codeOf(resolveKeyPaths(root, 'elsewhere', 'x'))).toBe('InvalidArgument');
  });
});

describe('writeFileAtomic', () => {
  it('keeps the mode of the file it replaces, and leaves no temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'a.gpg');
    writeFileSync(path, 'old');
    chmodSync(path, 0o666); // wider than the umask lets open() give
    const old = process.umask(0o022);
    try {
      await writeFileAtomic(path, 'new');
    } finally {
      process.umask(old);
    }
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o666);
    expect(readdirSync(dir)).toEqual(['a.gpg']);
  });

  it('gives a new file 0666 minus the umask, as gpg does', async () => {
    const dir = tempDir();
    const old = process.umask(0o027);
    try {
      await writeFileAtomic(join(dir, 'n.gpg'), new Uint8Array([1, 2]));
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, 'n.gpg')).mode & 0o777).toBe(0o640);
  });

  it('leaves the old file and no temp when the write fails', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'target')); // rename of a file over a directory fails
    expect(await codeOf(writeFileAtomic(join(dir, 'target'), 'x'))).toMatch(/not ours/);
    expect(readdirSync(dir)).toEqual(['target']);
  });
});

describe('findLayout', () => {
  it('prefers .blackbox over keyrings/live, as the scripts do', async () => {
    const root = initRepo('keyrings/live');
    expect((await findLayout(root)).dataDir).toBe('keyrings/live');
    mkdirSync(join(root, '.blackbox'));
    writeFileSync(join(root, '.blackbox', 'blackbox-admins.txt'), '');
    writeFileSync(join(root, '.blackbox', 'blackbox-files.txt'), '');
    const layout = await findLayout(root);
    expect(layout.dataDir).toBe('.blackbox');
    expect(layout.filesFile).toBe(join(layout.root, '.blackbox', 'blackbox-files.txt'));
    expect((await findLayout(root, { dataDir: 'keyrings/live' })).dataDir).toBe('keyrings/live');
  });

  it('says what is missing', async () => {
    const root = tempDir();
    await expect(findLayout(root)).rejects.toThrow(/neither \.blackbox\/ nor keyrings\/live\//);
    mkdirSync(join(root, '.blackbox'));
    writeFileSync(join(root, '.blackbox', 'blackbox-admins.txt'), '');
    await expect(findLayout(root)).rejects.toThrow(/blackbox-files\.txt is missing/);
    expect(await codeOf(findLayout(join(root, 'nope')))).toBe('ConfigError');
    expect(await codeOf(findLayout(root, { dataDir: '../x' }))).toBe('ConfigError');
  });

  it('picks pubring.gpg over pubring.kbx and reads the format from the bytes', async () => {
    const root = initRepo();
    const data = join(root, '.blackbox');
    expect((await findLayout(root)).pubring).toEqual({
      path: join(await findRoot(root), '.blackbox/pubring.kbx'),
      format: 'kbx',
    });
    const header = Buffer.alloc(32);
    header.writeUInt32BE(32, 0);
    header[4] = 1;
    header[5] = 1;
    header.write('KBXf', 8, 'latin1');
    writeFileSync(join(data, 'pubring.kbx'), header);
    expect((await findLayout(root)).pubring.format).toBe('kbx');
    writeFileSync(join(data, 'pubring.gpg'), new Uint8Array([0x99, 0x01, 0x0d]));
    expect((await findLayout(root)).pubring).toMatchObject({ format: 'gpg' });
    expect((await findLayout(root)).pubring.path.endsWith('pubring.gpg')).toBe(true);
    writeFileSync(join(data, 'pubring.gpg'), header); // a keybox by another name
    expect((await findLayout(root)).pubring.format).toBe('kbx');
  });

  it('refuses a data directory that is a symlink out of the repository', async () => {
    const outside = initRepo();
    const root = tempDir();
    symlinkSync(join(outside, '.blackbox'), join(root, '.blackbox'));
    expect(await codeOf(findLayout(root))).toBe('ConfigError');
  });
});

async function findRoot(root: string): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(root);
}
