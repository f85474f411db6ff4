export { keystoreProvider, type VaultConfig, vaultConfigSchema } from './definition.js';
export {
  createVaultProvider,
  DEFAULT_TRANSIT_MOUNT,
  type VaultKeyProvider,
  type VaultProviderOptions,
} from './provider.js';
