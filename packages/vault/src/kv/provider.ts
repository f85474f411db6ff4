import { createMaterialProvider, type KeyProvider } from '@keystore/core/provider';
import { createVaultClient } from '../client.js';
import { DEFAULT_KV_MOUNT, DEFAULT_KV_PATH_PREFIX, kvPaths } from './paths.js';
import { createKvStore } from './store.js';

/** Options of KV mode (`createVaultProvider({ mode: 'kv', ... })`). */
export interface KvProviderOptions {
  /** `http(s)://host:port` of Vault or OpenBao, without `/v1`. */
  readonly endpoint: string;
  /** A Vault token (the value, not a reference). */
  readonly token: string;
  /** The KV v2 mount; default `secret`. */
  readonly mount?: string;
  /** Folder of the keys under the mount, ending in `/`; default `keystore/`. */
  readonly pathPrefix?: string;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  readonly namespace?: string;
  /** Upper bound of one request outside a guarded call; default 30 s. */
  readonly requestTimeoutMs?: number;
}

/**
 * KV mode: the key material is kept in KV v2 and used here, in this process
 * (core's material provider: local AES-256-GCM wraps, rotation by
 * check-and-set). Unlike Transit mode, the material leaves Vault.
 */
export async function createKvProvider(options: KvProviderOptions): Promise<KeyProvider> {
  const paths = kvPaths(options.mount ?? DEFAULT_KV_MOUNT, options.pathPrefix ?? DEFAULT_KV_PATH_PREFIX);
  const client = createVaultClient({
    endpoint: options.endpoint,
    token: options.token,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return createMaterialProvider(createKvStore(client, paths));
}
