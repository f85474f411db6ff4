import { createMaterialProvider, type KeyProvider, type MaterialStore } from '@keystore/core/provider';
import { connectVault, type VaultConnection, type VaultConnectionOptions } from '../connection.js';
import { DEFAULT_KV_MOUNT, DEFAULT_KV_PATH_PREFIX, kvPaths } from './paths.js';
import { createKvStore } from './store.js';

/** Where KV mode keeps its keys. */
export interface KvProviderOptions {
  /** The KV v2 mount; default `secret`. */
  readonly mount?: string;
  /** Folder of the keys under the mount, ending in `/`; default `keystore/`. */
  readonly pathPrefix?: string;
}

/**
 * KV mode: the key material is kept in KV v2 and used here, in this process
 * (core's material provider: local AES-256-GCM wraps, rotation by
 * check-and-set). Unlike Transit mode, the material leaves Vault. The
 * provider's close ends the connection.
 */
export function createKvProvider(connection: VaultConnection, options: KvProviderOptions): KeyProvider {
  const paths = kvPaths(options.mount ?? DEFAULT_KV_MOUNT, options.pathPrefix ?? DEFAULT_KV_PATH_PREFIX);
  return createMaterialProvider(createKvStore(connection.client, paths, () => connection.close()));
}

/** Options of `createVaultKvStore`: where Vault is, and where KV mode keeps its keys. */
export interface VaultKvStoreOptions extends VaultConnectionOptions, KvProviderOptions {}

/**
 * KV mode's material store on its own, for tools that copy keys between
 * stores (`migrateBlackboxKeys` of `@keystore/blackbox`): the same store the
 * KV provider is built on, in the same layout. Its close ends the connection.
 */
export function createVaultKvStore(options: VaultKvStoreOptions): MaterialStore {
  const paths = kvPaths(options.mount ?? DEFAULT_KV_MOUNT, options.pathPrefix ?? DEFAULT_KV_PATH_PREFIX);
  const connection = connectVault(options);
  return createKvStore(connection.client, paths, () => connection.close());
}
