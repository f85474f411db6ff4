import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_PBKDF2 } from '../../../test/support/file-kdf.js';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { createFileProvider } from './provider.js';
import { changeFileKeystoreSecret } from './store/change-secret.js';
import { createFileStore } from './store/store.js';

/**
 * Real OS processes against one keystore file. The children run this
 * folder's TypeScript, transpiled here (TypeScript's transpileModule, no
 * bundler) with the modules it imports into a temp directory.
 */
const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(here, '../..');
const PASSWORD = 'shared secret';

const temp = useTempDir('child.mjs', 'file');
let dir: string;
let child: string;
/** file: URL of the transpiled modules, with a trailing slash. */
let buildUrl: string;

/** Transpiles `entries` and every module they import (relative imports only) from src/ into `out`. */
async function transpileClosure(entries: readonly string[], out: string): Promise<void> {
  const queue = entries.map((e) => resolve(src, e));
  const done = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (done.has(file)) continue;
    done.add(file);
    const source = await readFile(file, 'utf8');
    for (const match of source.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)\.js'/g)) {
      queue.push(resolve(dirname(file), `${match[1]}.ts`));
    }
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(out, relative(src, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
}

const CHILD = `
import { once } from 'node:events';
const [mode, build, path, count] = process.argv.slice(2);
const load = (m) => import(new URL(m, build).href);
if (mode === 'rotate') {
  const { createFileProvider } = await load('providers/file/provider.js');
  const provider = await createFileProvider({ path, password: ${JSON.stringify(PASSWORD)} });
  process.stdout.write('ready\\n');
  await once(process.stdin, 'data');
  for (let i = 0; i < Number(count); i++) await provider.rotateKey('shared');
  await provider.close();
  process.stdout.write('done\\n');
  process.exit(0);
} else if (mode === 'rotate-until-denied') {
  const { createFileProvider } = await load('providers/file/provider.js');
  const provider = await createFileProvider({ path, password: ${JSON.stringify(PASSWORD)} });
  process.stdout.write('ready\\n');
  await once(process.stdin, 'data');
  let denied = false;
  const until = Date.now() + Number(count);
  while (!denied && Date.now() < until) {
    try {
      const meta = await provider.rotateKey('shared');
      process.stdout.write('v' + meta.latestVersion + '\\n');
    } catch (error) {
      if (error.code !== 'AccessDenied') throw error;
      denied = true;
    }
    // A pause as any real writer has between two writes: a tight loop would leave others
    // only microseconds to take the lock.
    await new Promise((r) => setTimeout(r, 5));
  }
  await provider.close();
  process.stdout.write(denied ? 'denied\\n' : 'done\\n');
  process.exit(0);
} else if (mode === 'hold-lock') {
  const { withFileLock } = await load('providers/file/disk/lock.js');
  setInterval(() => {}, 1000);
  await withFileLock(path + '.lock', {}, async () => {
    process.stdout.write('locked\\n');
    await new Promise(() => {});
  });
}
`;

function run(args: readonly string[]): {
  proc: ChildProcess;
  lines: string[];
  waitFor: (line: string) => Promise<void>;
} {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  const waiters: (() => void)[] = [];
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter(Boolean));
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const waitFor = (line: string) =>
    new Promise<void>((resolvePromise, reject) => {
      const check = () => {
        if (lines.includes(line)) resolvePromise();
        else waiters.push(check);
      };
      proc.once('exit', (code) => {
        if (!lines.includes(line)) reject(new Error(`child exited (${code}) before '${line}': ${stderr}`));
      });
      check();
    });
  return { proc, lines, waitFor };
}

let build: string;

beforeAll(async () => {
  dir = temp.dir;
  // Inside the package's node_modules, so that the transpiled modules find its dependencies (zod).
  build = await mkdtemp(join(src, '..', 'node_modules', '.file-processes-'));
  await transpileClosure(['providers/file/provider.ts', 'providers/file/disk/lock.ts'], build);
  child = join(dir, 'child.mjs');
  await writeFile(child, CHILD);
  buildUrl = pathToFileURL(`${build}/`).href;
});
afterAll(async () => {
  await rm(build, { recursive: true, force: true });
});

describe('file provider: two processes', () => {
  it('processes rotating one key concurrently lose no version', async () => {
    const path = join(dir, 'shared.json');
    const setup = await createFileProvider({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    await setup.createKey?.('shared');
    await setup.close();

    const PROCESSES = 4;
    const ROTATIONS = 15;
    const children = Array.from({ length: PROCESSES }, () =>
      run(['rotate', buildUrl, path, String(ROTATIONS)]),
    );
    await Promise.all(children.map((c) => c.waitFor('ready')));
    for (const c of children) c.proc.stdin?.write('go\n');
    await Promise.all(children.map((c) => c.waitFor('done')));

    const store = await createFileStore({ path, password: PASSWORD });
    const key = await store.load('shared');
    const expected = Array.from({ length: 1 + PROCESSES * ROTATIONS }, (_, i) => i + 1);
    expect(key?.versions.map((v) => v.version)).toEqual(expected);
    // Every version has its own material: none was overwritten by another process's.
    expect(new Set(key?.versions.map((v) => Buffer.from(v.material).toString('hex'))).size).toBe(
      expected.length,
    );
    await store.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.startsWith('shared') || f.startsWith('.shared'))).toEqual([
      'shared.json',
    ]);
  });

  it('a secret change while another process rotates keeps every version that process reported', async () => {
    const path = join(dir, 'rekeyed.json');
    const setup = await createFileProvider({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    await setup.createKey?.('shared');
    await setup.close();

    const rotator = run(['rotate-until-denied', buildUrl, path, '20000']); // at most 20 s
    await rotator.waitFor('ready');
    rotator.proc.stdin?.write('go\n');
    await rotator.waitFor('v3');
    await changeFileKeystoreSecret({ path, password: PASSWORD, newPassword: 'after', newKdf: FAST_PBKDF2 });
    const end = await Promise.race([
      rotator.waitFor('denied').then(() => 'denied'),
      rotator.waitFor('done').then(() => 'done'),
    ]);
    // The rotator ran into the new secret before it ran out of rotations.
    expect(end).toBe('denied');

    const reported = rotator.lines.filter((l) => l.startsWith('v')).map((l) => Number(l.slice(1)));
    const store = await createFileStore({ path, password: 'after' });
    const versions = (await store.load('shared'))?.versions.map((v) => v.version) ?? [];
    await store.close();
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    for (const v of reported) expect(versions).toContain(v);
    expect(reported.length).toBeGreaterThanOrEqual(2);
    await expect(createFileStore({ path, password: PASSWORD })).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    expect((await readdir(dir)).filter((f) => f.includes('rekeyed'))).toEqual(['rekeyed.json']);
  });

  it('a lock left by a killed process is broken at once', async () => {
    const path = join(dir, 'killed.json');
    const provider = await createFileProvider({ path, password: PASSWORD, create: true, kdf: FAST_PBKDF2 });
    const holder = run(['hold-lock', buildUrl, path]);
    await holder.waitFor('locked');
    const exited = new Promise((r) => holder.proc.once('exit', r));
    holder.proc.kill('SIGKILL');
    await exited;
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8')).pid).toBe(holder.proc.pid);

    const started = Date.now();
    await provider.createKey?.('k');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await provider.listKeys?.())?.map((k) => k.keyId)).toEqual(['k']);
    await provider.close();
    expect((await readdir(dir)).filter((f) => f.includes('killed'))).toEqual(['killed.json']);
  });
});
