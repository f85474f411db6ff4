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
export { createVaultProvider, DEFAULT_TRANSIT_MOUNT, type VaultProviderOptions } from './provider.js';
