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
    [{ ...valid, auth: { method: 'approle', roleId: { env: 'R' } } }, /'approle' is not available yet/],
    [{ ...valid, auth: { method: 'kubernetes', role: 'r' } }, /'kubernetes' is not available yet/],
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

  it('refuses a key id that is not a Transit key name before any request', async () => {
    const { createVaultProvider } = await import('../src/index.js');
    // Port 9: nothing listens, so a request would be ProviderUnavailable, not InvalidArgument.
    const provider = await createVaultProvider({ endpoint: 'http://127.0.0.1:9', token: 't' });
    for (const keyId of ['a/../b', 'tenant/x', '', 'x'.repeat(129), 'ä']) {
      await expect(provider.listVersions?.(keyId)).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
  });
});
