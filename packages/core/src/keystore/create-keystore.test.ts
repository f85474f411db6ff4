import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../test/support/temp-dir.js';
import { Fernet } from '../ciphers/fernet/fernet.js';
import type { KeystoreConfig } from '../config/keystore-config.js';
import { createKeystore } from './create-keystore.js';

/** One directory for the whole file. */
const tmp = useTempDir('keystore.config.json', 'file');

async function configError(config: unknown, options = {}): Promise<string> {
  try {
    // Bad on purpose: as configuration read at run time, it reaches the schemas unchecked.
    await createKeystore(config as KeystoreConfig, { env: {}, cwd: tmp.dir, ...options });
  } catch (error) {
    expect((error as { code: string }).code).toBe('ConfigError');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('createKeystore', () => {
  it('builds a keystore from plain data', async () => {
    const ks = await createKeystore({ provider: { type: 'memory', keys: ['app'] }, defaultKey: 'app' });
    expect(new TextDecoder().decode(await ks.decrypt(await ks.encrypt('hi')))).toBe('hi');
    await ks.close();
  });

  it('names the bad field', async () => {
    expect(await configError({})).toMatch(/provider: expected object/);
    expect(await configError({ provider: { type: 'memory' }, defaultKey: 5 })).toMatch(
      /defaultKey: expected string/,
    );
    expect(await configError({ provider: { type: 'memory', kyes: [] }, defaultKey: 'a' })).toMatch(
      /provider: unknown field 'kyes'/,
    );
    expect(await configError({ provider: { type: 'memory' }, defaultKey: 'a', extra: 1 })).toMatch(
      /unknown field 'extra'/,
    );
    expect(await configError({ provider: { type: 'memory' } })).toMatch(/defaultKey/);
  });

  it('lists the known types for an unknown one', async () => {
    const message = await configError({ provider: { type: 'hsm' }, defaultKey: 'a' });
    expect(message).toMatch(/unknown provider type 'hsm'/);
    for (const type of ['memory', 'env', 'vault', 'aws-kms', 'blackbox']) expect(message).toContain(type);
  });

  it('names the package to install for an adapter that is not installed', async () => {
    const message = await configError({ provider: { type: 'vault' }, defaultKey: 'a' });
    expect(message).toContain('@keystore/vault');
    expect(message).toMatch(/install/);
  });

  it('reads configuration from KEYSTORE_CONFIG (inline or a path) or keystore.config.json', async () => {
    const key = Fernet.generateKey();
    const env = { KEYSTORE_KEY_APP: key };
    const config = { provider: { type: 'env' }, defaultKey: 'app' };
    const inline = await createKeystore(undefined, {
      env: { ...env, KEYSTORE_CONFIG: JSON.stringify(config) },
      cwd: tmp.dir,
    });
    const envelope = await inline.encrypt('from env config');
    writeFileSync(join(tmp.dir, 'keystore.config.json'), JSON.stringify(config));
    const fromFile = await createKeystore(undefined, { env, cwd: tmp.dir });
    expect(new TextDecoder().decode(await fromFile.decrypt(envelope))).toBe('from env config');
    writeFileSync(join(tmp.dir, 'other.json'), JSON.stringify(config));
    const byPath = await createKeystore(undefined, {
      env: { ...env, KEYSTORE_CONFIG: 'other.json' },
      cwd: tmp.dir,
    });
    expect(byPath.defaultKey).toBe('app');
    rmSync(join(tmp.dir, 'keystore.config.json'));
    expect(await configError(undefined)).toMatch(/no configuration/);
  });

  it('reports invalid JSON without echoing it', async () => {
    writeFileSync(join(tmp.dir, 'bad.json'), '{"provider": {"password": "hunter2"');
    const message = await configError(undefined, { path: join(tmp.dir, 'bad.json') });
    expect(message).toBe(`${join(tmp.dir, 'bad.json')}:1:36: expected '}'`);
    expect(message).not.toContain('hunter2');
  });
});

describe('createKeystore options', () => {
  const config: KeystoreConfig = { provider: { type: 'memory', keys: ['app'] }, defaultKey: 'app' };

  async function invalidArgument(options: unknown): Promise<string> {
    try {
      await createKeystore(config, options as never);
    } catch (error) {
      expect((error as { code: string }).code).toBe('InvalidArgument');
      return (error as Error).message;
    }
    throw new Error('expected an InvalidArgument');
  }

  it('refuses an unknown option, naming it and the known ones', async () => {
    expect(await invalidArgument({ bseDir: tmp.dir })).toBe(
      "createKeystore: unknown option 'bseDir' (known: cwd, env, path, providers, caches, baseDir)",
    );
  });

  it('refuses options of the wrong type', async () => {
    expect(await invalidArgument('keystore.config.json')).toMatch(
      /^createKeystore: options must be a plain object .*, got a string$/,
    );
    expect(await invalidArgument({ cwd: 42 })).toBe(
      "createKeystore: option 'cwd' must be a string, got a number",
    );
    expect(await invalidArgument({ env: 'production' })).toMatch(
      /^createKeystore: option 'env' must be an object/,
    );
    expect(await invalidArgument({ providers: [] })).toMatch(
      /^createKeystore: option 'providers' must be an object/,
    );
  });

  it('still takes process.env', async () => {
    const ks = await createKeystore(config, { env: process.env });
    expect(ks.defaultKey).toBe('app');
    await ks.close();
  });
});

describe('createKeystore with recipients', () => {
  it('builds a keystore whose envelopes each recipient opens alone', async () => {
    const key = Fernet.generateKey();
    const env = { KEYSTORE_KEY_GLASS: key };
    const ks = await createKeystore(
      {
        recipients: [
          { name: 'main', provider: { type: 'memory', keys: ['app'] }, key: 'app' },
          { name: 'break-glass', provider: { type: 'env' }, key: 'glass' },
        ],
        decryptOrder: ['break-glass', 'main'],
      },
      { env },
    );
    expect(ks.recipients.map((r) => r.name)).toEqual(['main', 'break-glass']);
    const envelope = await ks.encrypt('hi', { context: { t: '1' } });
    expect(ks.inspect(envelope).recipients.map((r) => r.provider)).toEqual(['memory', 'env']);
    const glass = await createKeystore({ provider: { type: 'env' }, defaultKey: 'glass' }, { env });
    expect(new TextDecoder().decode(await glass.decrypt(envelope, { context: { t: '1' } }))).toBe('hi');
    await ks.close();
    await glass.close();
  });

  it('names the bad field, the recipient, and refuses provider and recipients together', async () => {
    const memory = { type: 'memory', keys: ['a'] };
    expect(await configError({ recipients: [{ name: 'a', provider: memory }] })).toMatch(
      /recipients\.0\.key: expected string/,
    );
    expect(
      await configError({ recipients: [{ name: 'a', provider: { type: 'memory', kyes: [] }, key: 'a' }] }),
    ).toMatch(/^recipients\.0: invalid configuration: provider: unknown field 'kyes'/);
    expect(
      await configError({
        provider: memory,
        defaultKey: 'a',
        recipients: [{ name: 'a', provider: memory, key: 'a' }],
      }),
    ).toMatch(/provider: not with recipients.*defaultKey: not with recipients/);
    expect(await configError({ provider: memory, defaultKey: 'a', decryptOrder: ['a'] })).toMatch(
      /decryptOrder: goes with recipients/,
    );
    expect(
      await configError({
        recipients: [
          { name: 'a', provider: memory, key: 'a' },
          { name: 'a', provider: { type: 'env' }, key: 'b' },
        ],
      }),
    ).toMatch(/^recipients\[1\]: the name 'a' is taken/);
    expect(
      await configError({
        recipients: [{ name: 'a', provider: memory, key: 'a' }],
        decryptOrder: ['a', 'b'],
      }),
    ).toMatch(/decryptOrder must name each recipient once/);
    expect(await configError({ recipients: [{ name: 'a', provider: { type: 'hsm' }, key: 'a' }] })).toMatch(
      /^recipients\.0: provider\.type: unknown provider type 'hsm'/,
    );
  });
});
