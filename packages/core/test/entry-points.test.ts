import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These tests read the built package (`pnpm test` builds first): what users import is dist/.
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every module specifier `file` imports, and what the relative ones import in turn. */
function importGraph(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const text = readFileSync(join(dist, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom|\bimport|\brequire\()\s*['"]([^'"]+)['"]/g)].map(
    (m) => m[1] as string,
  );
  seen.set(file, specifiers);
  for (const s of specifiers) if (s.startsWith('./')) importGraph(s.slice(2), seen);
  return seen;
}

function nodeImports(entry: string): string[] {
  return [...importGraph(entry)].flatMap(([file, specifiers]) =>
    specifiers.filter((s) => builtins.has(s)).map((s) => `${file} imports ${s}`),
  );
}

describe('entry points', () => {
  it('@keystore/core/web imports no Node module, in ESM or CJS', () => {
    expect(nodeImports('web.js')).toEqual([]);
    expect(nodeImports('web.cjs')).toEqual([]);
    // The check itself can fail: the main entry does import Node modules.
    expect(nodeImports('index.js')).not.toEqual([]);
  });

  it('@keystore/core/web gives a front end the WebCrypto encryptor and the errors it throws', async () => {
    const web = await import('../dist/web.js');
    expect(Object.keys(web).sort()).toEqual([
      'InvalidKey',
      'InvalidToken',
      'KeystoreError',
      'RsaOaepWebEncryptor',
      'isKeystoreError',
    ]);
  });

  it('@keystore/core/provider holds what an adapter needs and nothing an application calls', async () => {
    const provider = await import('../dist/provider.js');
    const names = Object.keys(provider);
    for (const name of [
      'defineProvider',
      'guardProvider',
      'createMaterialProvider',
      'callTimeLeftMs',
      'beginCommit',
      'ALL_CAPABILITIES',
      'SPECIFICATION_VERSION',
      'secretRefSchema',
      'checkKeyId',
      'ProviderUnavailable',
      'KeyNotFound',
      'InvalidToken',
      'sealAesGcm',
      'openAesGcm',
    ]) {
      expect(names).toContain(name);
    }
    for (const name of ['Keystore', 'createKeystore', 'Fernet', 'MultiFernet', 'RsaOaep', 'loadConfig']) {
      expect(names).not.toContain(name);
    }
  });

  it('the entries share one copy of each class, so errors from any entry are one type', async () => {
    const [main, provider, web] = await Promise.all([
      import('../dist/index.js'),
      import('../dist/provider.js'),
      import('../dist/web.js'),
    ]);
    expect(provider.KeystoreError).toBe(main.KeystoreError);
    expect(web.InvalidToken).toBe(main.InvalidToken);
    expect(web.RsaOaepWebEncryptor).toBe(main.RsaOaepWebEncryptor);
  });
});

describe('@keystore/core/web types', () => {
  it('type-check in a browser project with no Node types', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { createRequire } = await import('node:module');
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const project = mkdtempSync(join(tmpdir(), 'keystore-web-types-'));
    try {
      mkdirSync(join(project, 'node_modules', '@keystore'), { recursive: true });
      symlinkSync(join(dist, '..'), join(project, 'node_modules', '@keystore', 'core'));
      writeFileSync(
        join(project, 'page.ts'),
        "import { RsaOaepWebEncryptor, InvalidToken } from '@keystore/core/web';\n" +
          'export const encrypt = (jwk: JsonWebKey) => RsaOaepWebEncryptor.fromJwk(jwk);\n' +
          'export const isBad = (e: unknown) => e instanceof InvalidToken;\n',
      );
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'esnext',
            moduleResolution: 'bundler',
            target: 'es2022',
            lib: ['es2022', 'dom'],
            types: [],
            strict: true,
            noEmit: true,
          },
          files: ['page.ts'],
        }),
      );
      // Throws, with tsc's output, if the web entry's types need Node's (Buffer, node:crypto).
      execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
