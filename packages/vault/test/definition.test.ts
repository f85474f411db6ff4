import { describe, expect, it } from 'vitest';
import { keystoreProvider } from '../src/index.js';

const valid = {
  type: 'vault',
  endpoint: 'http://127.0.0.1:8200',
  mode: 'transit',
  auth: { method: 'token', token: { env: 'VAULT_TOKEN' } },
};

describe('vault configuration', () => {
  it('accepts transit mode with a token reference', () => {
    expect(
      keystoreProvider.parseConfig({ ...valid, mount: 'team/transit', namespace: 'team-a' }),
    ).toMatchObject({
      mount: 'team/transit',
    });
  });

  it('accepts kv mode with a mount and a path prefix', () => {
    expect(
      keystoreProvider.parseConfig({ ...valid, mode: 'kv', mount: 'secret', pathPrefix: 'apps/billing/' }),
    ).toMatchObject({ mode: 'kv', mount: 'secret', pathPrefix: 'apps/billing/' });
    expect(keystoreProvider.parseConfig({ ...valid, mode: 'kv' })).toMatchObject({ mode: 'kv' });
  });

  it.each([
    [{ ...valid, mode: 'kv', pathPrefix: '../' }, /provider\.pathPrefix/],
    [{ ...valid, mode: 'kv', pathPrefix: 'a/../' }, /provider\.pathPrefix/],
    [{ ...valid, mode: 'kv', pathPrefix: 'keystore' }, /provider\.pathPrefix/],
    [{ ...valid, mode: 'kv', pathPrefix: '/keystore/' }, /provider\.pathPrefix/],
    [{ ...valid, mode: 'transit', pathPrefix: 'keystore/' }, /provider\.pathPrefix: only mode 'kv'/],
    [{ ...valid, mode: 'kv2' }, /provider\.mode/],
    [{ ...valid, auth: { method: 'approle', roleId: { env: 'R' } } }, /method 'approle' needs 'secretId'/],
    [{ ...valid, auth: { method: 'approle' } }, /needs 'roleId' and 'secretId' \(secret references/],
    [
      { ...valid, auth: { method: 'approle', roleId: { env: 'R' }, secretId: 's3cr3t-inline' } },
      /provider\.auth\.secretId/,
    ],
    [
      { ...valid, auth: { method: 'approle', roleId: { env: 'R' }, secretId: { env: 'S' }, mount: '../x' } },
      /provider\.auth\.mount/,
    ],
    [{ ...valid, auth: { method: 'kubernetes' } }, /method 'kubernetes' needs 'role'/],
    [{ ...valid, auth: { method: 'kubernetes', role: 'r', jwt: 'x' } }, /unknown field 'jwt'/],
    [
      { ...valid, auth: { method: 'ldap' } },
      /provider\.auth\.method: must be 'token', 'approle' or 'kubernetes'/,
    ],
    [{ ...valid, auth: { token: { env: 'T' } } }, /provider\.auth\.method/],
    [{ ...valid, auth: { method: 'token', token: 'inline' } }, /provider\.auth\.token/],
    [{ ...valid, mount: 'a/../b' }, /provider\.mount/],
    [{ ...valid, endpoint: 'ftp://x' }, /provider\.endpoint/],
    [{ ...valid, adress: 'x' }, /unknown field 'adress'/],
  ])('refuses %j with a ConfigError naming the field', (config, message) => {
    expect(() => keystoreProvider.parseConfig(config)).toThrow(message);
    try {
      keystoreProvider.parseConfig(config);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ConfigError');
    }
  });

  it('accepts the approle and kubernetes blocks', () => {
    expect(
      keystoreProvider.parseConfig({
        ...valid,
        auth: {
          method: 'approle',
          roleId: { env: 'R' },
          secretId: { file: 'secret-id' },
          mount: 'team/approle',
        },
      }),
    ).toMatchObject({ auth: { method: 'approle', mount: 'team/approle' } });
    expect(
      keystoreProvider.parseConfig({ ...valid, auth: { method: 'kubernetes', role: 'billing' } }),
    ).toMatchObject({ auth: { method: 'kubernetes', role: 'billing' } });
  });

  it('no refusal message holds the inline secret it refused', () => {
    const config = {
      ...valid,
      auth: { method: 'approle', roleId: 'r0le-inline', secretId: 's3cr3t-inline' },
    };
    expect(() => keystoreProvider.parseConfig(config)).toThrow(/provider\.auth/);
    try {
      keystoreProvider.parseConfig(config);
    } catch (error) {
      expect(String((error as Error).message)).not.toMatch(/s3cr3t|r0le/);
    }
  });

  it('refuses a key id that is not a Transit key name before any request', async () => {
    const { createVaultProvider } = await import('../src/index.js');
    // Port 9: nothing listens, so a request would be ProviderUnavailable, not InvalidArgument.
    const provider = await createVaultProvider({
      endpoint: 'http://127.0.0.1:9',
      auth: { method: 'token', token: 't' },
    });
    for (const keyId of ['a/../b', 'tenant/x', '', 'x'.repeat(129), 'ä']) {
      await expect(provider.listVersions?.(keyId)).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
  });
});
