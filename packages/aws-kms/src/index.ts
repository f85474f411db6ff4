export { ASYMMETRIC_FORMAT } from './asymmetric-wire.js';
export { type AwsKmsCredentials, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_MAX_ATTEMPTS } from './client.js';
export { type AwsKmsConfig, awsKmsConfigSchema, keystoreProvider } from './definition.js';
export { KMS_KEY_VERSION, REFERENCE_ENTRY } from './envelope-keys.js';
export { KmsAliasRepointed, type KmsKeyState, KmsKeyUnusable } from './errors.js';
export {
  type AwsKmsCreateKeyOptions,
  type AwsKmsKeyDescription,
  type AwsKmsKeySpec,
  DEFAULT_PENDING_WINDOW_DAYS,
  type ScheduleKeyDeletionOptions,
} from './lifecycle.js';
export { type AwsKmsKeyProvider, type AwsKmsProviderOptions, createAwsKmsProvider } from './provider.js';
export {
  type AwsKmsPublicKeyEntry,
  type AwsKmsPublicKeyProviderOptions,
  createAwsKmsPublicKeyProvider,
} from './public-key-provider.js';
export { type AwsKmsPublicKey, RSA_ALGORITHM } from './public-keys.js';
export { RESOLVE_TTL_MS } from './resolver.js';
