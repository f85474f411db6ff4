export { type BlackboxConfig, blackboxConfigSchema, keystoreProvider } from './definition.js';
export { type KeyboxEntry, readKeybox } from './keybox/index.js';
export {
  type MigrateBlackboxKeysOptions,
  type MigrationReport,
  migrateBlackboxKeys,
} from './migrate/index.js';
export { type BlackboxProviderOptions, createBlackboxProvider } from './provider.js';
