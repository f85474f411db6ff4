import { InvalidArgument } from '@keystore/core/provider';
import { createVaultClient } from './client.js';
import { createTransitProvider } from './transit/provider.js';
import type { VaultKeyProvider } from './vault-key-provider.js';

export { DEFAULT_TRANSIT_MOUNT } from './transit/names.js';
export type { VaultKeyProvider } from './vault-key-provider.js';

/** Options of `createVaultProvider` (the configuration block, with the token resolved). */
export interface VaultProviderOptions {
  /** `http(s)://host:port` of Vault or OpenBao, without `/v1`. */
  readonly endpoint: string;
  /** Only Transit is built so far. */
  readonly mode?: 'transit';
  /** A Vault token (the value, not a reference). */
  readonly token: string;
  /** The Transit mount; default `transit`. */
  readonly mount?: string;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  readonly namespace?: string;
  /** Upper bound of one request outside a guarded call (which has its own deadline); default 30 s. */
  readonly requestTimeoutMs?: number;
}

/** Builds the client (auth, transport), then the provider of the configured mode. */
export async function createVaultProvider(options: VaultProviderOptions): Promise<VaultKeyProvider> {
  const mode = options.mode ?? 'transit';
  if (mode !== 'transit') {
    throw new InvalidArgument("vault: mode 'kv' is not available yet; use mode 'transit'");
  }
  const client = createVaultClient({
    endpoint: options.endpoint,
    token: options.token,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return createTransitProvider(client, options.mount === undefined ? {} : { mount: options.mount });
}
