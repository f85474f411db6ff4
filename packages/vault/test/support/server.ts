import { createKeystore, type Keystore } from '@keystore/core';
import type { ProviderDefinition } from '@keystore/core/provider';
import type { ServiceHandle } from '@keystore/test-infra/vitest';
import { keystoreProvider } from '../../src/index.js';

/** `createVaultProvider` options for Transit mode on the test server, with its root token. */
export function transitOptions(vault: ServiceHandle) {
  return {
    endpoint: vault.env.VAULT_ADDR ?? '',
    auth: { method: 'token' as const, token: vault.env.VAULT_TOKEN ?? '' },
    mount: vault.env.VAULT_TRANSIT_MOUNT ?? 'transit',
  };
}

/**
 * A Keystore in Transit mode built from configuration, as an application builds it: the
 * token comes through a secret reference. The definition is passed by hand: in this workspace
 * core cannot import @keystore/vault (pnpm's strict layout); core types custom definitions as
 * ProviderDefinition<never>, as its built-ins are.
 */
export function transitKeystore(
  options: ReturnType<typeof transitOptions>,
  defaultKey: string,
): Promise<Keystore> {
  return createKeystore(
    {
      provider: {
        type: 'vault',
        endpoint: options.endpoint,
        mode: 'transit',
        auth: { method: 'token', token: { env: 'KEYSTORE_TEST_VAULT_TOKEN' } },
        mount: options.mount,
      },
      defaultKey,
    },
    {
      env: { KEYSTORE_TEST_VAULT_TOKEN: options.auth.token },
      providers: { vault: keystoreProvider as ProviderDefinition<never> },
    },
  );
}

/** `createVaultProvider` options for KV mode on the test server, in a folder of its own. */
export function kvOptions(vault: ServiceHandle, pathPrefix: string) {
  return {
    endpoint: vault.env.VAULT_ADDR ?? '',
    auth: { method: 'token' as const, token: vault.env.VAULT_TOKEN ?? '' },
    mode: 'kv' as const,
    mount: vault.env.VAULT_KV_MOUNT ?? 'secret',
    pathPrefix,
  };
}
