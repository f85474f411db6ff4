export {
  type MigrateBlackboxKeysOptions,
  type MigrationReport,
  migrateBlackboxKeys,
} from './migrate-keys.js';
