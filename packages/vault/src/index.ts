export {
  type AppRoleAuth,
  DEFAULT_APPROLE_MOUNT,
  DEFAULT_KUBERNETES_JWT_FILE,
  DEFAULT_KUBERNETES_MOUNT,
  jwtFromFile,
  type KubernetesAuth,
  type TokenAuth,
  type VaultAuth,
} from './auth/index.js';
export { keystoreProvider, type VaultConfig, vaultConfigSchema } from './definition.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './http/retry.js';
export type { VaultTlsOptions } from './http/tls.js';
export { DEFAULT_KV_MOUNT, DEFAULT_KV_PATH_PREFIX } from './kv/paths.js';
export { createVaultKvStore, type KvProviderOptions, type VaultKvStoreOptions } from './kv/provider.js';
export {
  createVaultProvider,
  DEFAULT_TRANSIT_MOUNT,
  type VaultKeyProvider,
  type VaultProviderOptions,
} from './provider.js';
