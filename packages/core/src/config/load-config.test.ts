import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../test/support/temp-dir.js';
import { loadConfig } from './load-config.js';

/** One directory for the whole file. */
const tmp = useTempDir('keystore.config.json', 'file');

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect((error as { code: string }).code).toBe('ConfigError');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const withComments = `// keystore.config.json: the embedded keystore file
{
  /* where the keys live */
  "provider": { "type": "file", "path": "secrets/app.keystore.json", "password": { "env": "KEYSTORE_PASSWORD" } },
  "defaultKey": "patients", // the key new envelopes use
  "allowedKeys": ["billing", "tenant-*",],
}
`;

const expected = {
  provider: { type: 'file', path: 'secrets/app.keystore.json', password: { env: 'KEYSTORE_PASSWORD' } },
  defaultKey: 'patients',
  allowedKeys: ['billing', 'tenant-*'],
};

describe('loadConfig', () => {
  it('reads keystore.config.json with comments and trailing commas', () => {
    const cwd = mkdtempSync(join(tmp.dir, 'jsonc-'));
    writeFileSync(join(cwd, 'keystore.config.json'), `\uFEFF${withComments}`);
    expect(loadConfig({ cwd, env: {} }).config).toEqual(expected);
  });

  it('reads KEYSTORE_CONFIG inline with comments', () => {
    const inline = `{ "provider": { "type": "memory" }, /* inline */ "defaultKey": "a" }`;
    expect(loadConfig({ cwd: tmp.dir, env: { KEYSTORE_CONFIG: inline } }).config).toEqual({
      provider: { type: 'memory' },
      defaultKey: 'a',
    });
  });

  it('names the line and column of a syntax error in a file, not its contents', () => {
    const path = join(tmp.dir, 'broken.json');
    // Line 3, column 14: the missing comma after the password reference.
    writeFileSync(
      path,
      '{\n  "provider": { "type": "file", "path": "a.json",\n  "password": { "value": "hunter2" } "create": true }\n}\n',
    );
    const message = configError(() => loadConfig({ path, env: {} }));
    expect(message).toBe(`${path}:3:38: expected ','`);
    expect(message).not.toContain('hunter2');
  });

  it('names the line and column of a syntax error in KEYSTORE_CONFIG', () => {
    const message = configError(() =>
      loadConfig({
        cwd: tmp.dir,
        env: { KEYSTORE_CONFIG: '{\n "provider": { "type": "memory" },\n "defaultKey": s3cret }' },
      }),
    );
    expect(message).toBe('KEYSTORE_CONFIG:3:16: unexpected symbol (names and strings need double quotes)');
    expect(message).not.toContain('s3cret');
  });

  it('reports an unterminated configuration where it ends', () => {
    const path = join(tmp.dir, 'cut.json');
    writeFileSync(path, '{"provider": {"password": "hunter2"');
    const message = configError(() => loadConfig({ path, env: {} }));
    expect(message).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:36: expected '}'$`),
    );
    expect(message).not.toContain('hunter2');
    writeFileSync(path, '');
    expect(configError(() => loadConfig({ path, env: {} }))).toBe(`${path}:1:1: expected a value`);
  });

  it('refuses a field given twice in one object, naming both places', () => {
    const path = join(tmp.dir, 'twice.json');
    writeFileSync(
      path,
      '{\n  "provider": { "type": "memory" },\n  "defaultKey": "a",\n  "provider": { "type": "file" }\n}',
    );
    expect(configError(() => loadConfig({ path, env: {} }))).toBe(
      `${path}:4:3: 'provider' is given twice (first on line 2)`,
    );
  });
});
