export {
  addBlackboxAdmin,
  checkBlackboxRecipients,
  type FileFailure,
  type RecipientMismatch,
  type RecipientsReport,
  type ReencryptOptions,
  type ReencryptReport,
  reencryptBlackboxFiles,
  removeBlackboxAdmin,
} from './admins/index.js';
export { type BlackboxConfig, blackboxConfigSchema, keystoreProvider } from './definition.js';
export { type KeyboxEntry, readKeybox } from './keybox/index.js';
export {
  type MigrateBlackboxKeysOptions,
  type MigrationReport,
  migrateBlackboxKeys,
} from './migrate/index.js';
export { type BlackboxProviderOptions, createBlackboxProvider } from './provider.js';
