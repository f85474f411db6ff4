import type { ProviderContext, SecretRef } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import { keystoreProvider } from '../src/index.js';

const valid = {
  type: 'vault',
  endpoint: 'https://vault.example.org:8200',
  mode: 'transit',
  auth: { method: 'token', token: { env: 'VAULT_TOKEN' } },
};

const env: Record<string, string | undefined> = { VAULT_TOKEN: 't', KEY: 'not a key' };
const context: ProviderContext = {
  env,
  baseDir: '/etc/keystore',
  resolveSecret: (ref: SecretRef, field: string) => {
    if ('value' in ref) return ref.value;
    const value = 'env' in ref ? env[ref.env] : undefined;
    if (value === undefined) throw new Error(`${field}: not set`);
    return value;
  },
};

describe('the tls configuration block', () => {
  it('accepts caFile, certFile, keyFile or key (a secret reference), serverName', () => {
    const tls = {
      caFile: 'ca.pem',
      certFile: 'client.pem',
      key: { env: 'KEY' },
      serverName: 'vault.internal',
    };
    expect(keystoreProvider.parseConfig({ ...valid, tls })).toMatchObject({ tls });
  });

  it.each([
    [{ caFile: 'ca.pem', insecure: true }, /unknown field 'insecure'|insecure/],
    [{ key: '-----BEGIN PRIVATE KEY-----' }, /provider\.tls\.key/],
    [{ caFile: '' }, /provider\.tls\.caFile/],
  ])('refuses %j with a ConfigError naming the field', (tls, message) => {
    expect(() => keystoreProvider.parseConfig({ ...valid, tls })).toThrow(message);
  });

  it('reads the files at creation, relative to the configuration directory', async () => {
    const config = keystoreProvider.parseConfig({ ...valid, tls: { caFile: 'no-such-ca.pem' } });
    await expect(keystoreProvider.create(config, context)).rejects.toMatchObject({
      code: 'ConfigError',
      message: 'tls.caFile: file /etc/keystore/no-such-ca.pem cannot be read (ENOENT)',
    });
  });

  it('a key given both ways, or a key without its certificate, is a ConfigError', async () => {
    const both = keystoreProvider.parseConfig({ ...valid, tls: { keyFile: 'k.pem', key: { env: 'KEY' } } });
    await expect(keystoreProvider.create(both, context)).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/tls\.keyFile and tls\.key: give one of them/),
    });
    const alone = keystoreProvider.parseConfig({ ...valid, tls: { key: { env: 'KEY' } } });
    await expect(keystoreProvider.create(alone, context)).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/needs its client certificate/),
    });
  });
});
