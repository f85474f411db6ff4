import { InvalidArgument, UnsupportedOperation } from '@keystore/core/provider';
import { connectVault, type VaultConnectionOptions } from './connection.js';
import { createKvProvider } from './kv/provider.js';
import { createTransitProvider } from './transit/provider.js';
import type { VaultKeyProvider } from './vault-key-provider.js';

export { DEFAULT_TRANSIT_MOUNT } from './transit/names.js';
export type { VaultKeyProvider } from './vault-key-provider.js';

/** Options of `createVaultProvider` (the configuration block, with its secrets resolved). */
export interface VaultProviderOptions extends VaultConnectionOptions {
  /** `transit` (default): keys stay in Vault; `kv`: key material in KV v2 (kv/provider.ts). */
  readonly mode?: 'transit' | 'kv';
  /** The Transit mount (default `transit`), or in KV mode the KV v2 mount (default `secret`). */
  readonly mount?: string;
  /** KV mode only: the folder of the keys under the mount, ending in `/`; default `keystore/`. */
  readonly pathPrefix?: string;
}

/**
 * Connects (auth session, transport), then builds the provider of the
 * configured mode; the provider's close ends the connection. No request is
 * made here: the first call logs in.
 */
export async function createVaultProvider(options: VaultProviderOptions): Promise<VaultKeyProvider> {
  const mode = options.mode ?? 'transit';
  if (mode !== 'transit' && mode !== 'kv') {
    throw new InvalidArgument("vault: mode must be 'transit' or 'kv'");
  }
  if (options.pathPrefix !== undefined && mode !== 'kv') {
    throw new InvalidArgument("vault: pathPrefix is for mode 'kv' only");
  }
  const connection = connectVault(options);
  try {
    if (mode === 'kv') {
      const provider = createKvProvider(connection, {
        ...(options.mount === undefined ? {} : { mount: options.mount }),
        ...(options.pathPrefix === undefined ? {} : { pathPrefix: options.pathPrefix }),
      });
      return {
        ...provider,
        async retireVersionsBelow() {
          throw new UnsupportedOperation(
            'vault: retireVersionsBelow is a Transit operation (min_decryption_version); KV mode has no such setting',
          );
        },
      };
    }
    return createTransitProvider(connection, options.mount === undefined ? {} : { mount: options.mount });
  } catch (error) {
    await connection.close();
    throw error;
  }
}
