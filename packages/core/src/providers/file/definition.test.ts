import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { resolveSecret } from '../../config/secret-ref.js';
import type { ProviderContext } from '../../registry/provider-definition.js';
import { fileProviderDefinition } from './definition.js';
import { createFileProvider } from './provider.js';

const temp = useTempDir();
let dir: string;
let ctx: ProviderContext;

beforeEach(async () => {
  dir = temp.dir;
  const env = { KS_PASSWORD: 'from the environment', KS_MASTER: randomBytes(32).toString('base64url') };
  ctx = {
    env,
    baseDir: dir,
    resolveSecret: (ref, field) => resolveSecret(ref, field, { env, baseDir: dir }),
  };
});

describe('file provider configuration', () => {
  it('creates a keystore from plain configuration, the path relative to the configuration', async () => {
    const config = fileProviderDefinition.parseConfig({
      type: 'file',
      path: 'app.keystore.json',
      password: { env: 'KS_PASSWORD' },
      create: true,
      kdf: { name: 'pbkdf2-sha256', iterations: 1000 },
    });
    const provider = await fileProviderDefinition.create(config, ctx);
    await provider.createKey?.('k');
    await provider.close();
    expect(await readdir(dir)).toEqual(['app.keystore.json']);

    const masterConfig = {
      type: 'file',
      path: join(dir, 'm.json'),
      masterKey: { env: 'KS_MASTER' },
      create: true,
    };
    const keyed = await fileProviderDefinition.create(fileProviderDefinition.parseConfig(masterConfig), ctx);
    await keyed.close();
  });

  it('rejects bad configuration with ConfigError naming the field', () => {
    const bad = [
      { type: 'file', path: 'k.json' },
      { type: 'file', path: 'k.json', password: { env: 'A' }, masterKey: { env: 'B' } },
      { type: 'file', password: { env: 'A' } },
      { type: 'file', path: 'k.json', password: 'inline' },
      { type: 'file', path: 'k.json', password: { env: 'A' }, kdf: { name: 'argon2' } },
      { type: 'file', path: 'k.json', password: { env: 'A' }, extra: 1 },
    ];
    for (const config of bad) {
      expect(() => fileProviderDefinition.parseConfig(config), JSON.stringify(config)).toThrow(
        expect.objectContaining({ code: 'ConfigError' }),
      );
    }
  });

  it('passes minGeneration on: a file below it is refused as rolled back', async () => {
    const base = {
      type: 'file',
      path: 'g.json',
      password: { env: 'KS_PASSWORD' },
      kdf: { name: 'pbkdf2-sha256', iterations: 1000 },
    };
    await (
      await fileProviderDefinition.create(fileProviderDefinition.parseConfig({ ...base, create: true }), ctx)
    ).close();
    const config = fileProviderDefinition.parseConfig({ ...base, minGeneration: 2 });
    await expect(fileProviderDefinition.create(config, ctx)).rejects.toMatchObject({
      code: 'Corrupted',
      message: expect.stringContaining('rolled back'),
    });
    expect(() => fileProviderDefinition.parseConfig({ ...base, minGeneration: -1 })).toThrow(
      expect.objectContaining({ code: 'ConfigError' }),
    );
  });

  it('says when a master key is not 32 bytes of base64url', async () => {
    const config = fileProviderDefinition.parseConfig({
      type: 'file',
      path: 'k.json',
      masterKey: { value: 'too-short' },
      create: true,
    });
    const attempt = fileProviderDefinition.create(config, ctx);
    await expect(attempt).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringContaining('provider.masterKey'),
    });
    await expect(attempt).rejects.toMatchObject({ message: expect.not.stringContaining('too-short') });
  });
});

describe('file provider options: one schema for code and configuration', () => {
  const bad: Record<string, Record<string, unknown>> = {
    'an unknown option': { lockTimeOutMs: 5 },
    'staleLockMs above a day': { staleLockMs: 86_400_001 },
    'staleLockMs below a second': { staleLockMs: 999 },
    'lockTimeoutMs not an integer': { lockTimeoutMs: 1.5 },
    'create not a boolean': { create: 'yes' },
    'a negative minGeneration': { minGeneration: -1 },
  };
  for (const [label, option] of Object.entries(bad)) {
    it(`refuses ${label} in both, naming the field`, async () => {
      const field = Object.keys(option)[0] as string;
      await expect(
        createFileProvider({ path: join(dir, 'k.json'), password: 'pw', create: true, ...option }),
      ).rejects.toMatchObject({ code: 'ConfigError', message: expect.stringContaining(field) });
      expect(() =>
        fileProviderDefinition.parseConfig({
          type: 'file',
          path: 'k.json',
          password: { env: 'KS_PASSWORD' },
          ...option,
        }),
      ).toThrow(expect.objectContaining({ code: 'ConfigError', message: expect.stringContaining(field) }));
    });
  }
});
