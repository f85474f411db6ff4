/**
 * `@keystore/core/provider`: the contract an adapter implements, and only
 * what writing one needs (as vercel/ai keeps its provider spec apart from
 * the SDK applications call). Applications import the main entry.
 */
export { parseConfig } from './config/config-schema.js';
export type { KeystoreProviderConfigs } from './config/keystore-config.js';
export { type ResolveContext, type SecretRef, secretRefSchema } from './config/secret-ref.js';
export {
  canonicalContext,
  contextDigest,
  type EncryptionContext,
  normalizeContext,
} from './context/encryption-context.js';
export { GCM_NONCE_LENGTH, GCM_TAG_LENGTH, openAesGcm, sealAesGcm } from './crypto/aes-gcm.js';
export { InvalidKey } from './errors/invalid-key.js';
export { InvalidToken } from './errors/invalid-token.js';
export {
  AccessDenied,
  Closed,
  ConfigError,
  Conflict,
  Corrupted,
  ERROR_CODE_MEANINGS,
  ERROR_CODES,
  InvalidArgument,
  isErrorCode,
  isKeystoreError,
  KeyExists,
  KeyNotFound,
  KeystoreError,
  type KeystoreErrorCode,
  type KeystoreErrorOptions,
  ProviderError,
  ProviderUnavailable,
  UnsupportedOperation,
} from './errors/keystore-error.js';
export { beginCommit, callTimeLeftMs } from './provider/call-deadline.js';
export { type GuardedProvider, type GuardOptions, guardProvider } from './provider/guard-provider.js';
export { checkKeyId, isValidKeyId } from './provider/key-id.js';
export {
  ALL_CAPABILITIES,
  CAPABILITY_METHODS,
  type Capability,
  type CapabilityMethod,
  type CreateKeyOptions,
  capabilityMethods,
  type DataKey,
  DEFAULT_VERSIONING,
  type DeleteKeyOptions,
  type GenerateDataKeyInput,
  IN_PLACE_VERSION,
  isVersioning,
  type KeyMaterial,
  type KeyMetadata,
  type KeyProvider,
  type KeyVersionInfo,
  type KeyVersionState,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
  type UnwrapKeyInput,
  VERSIONING_MODES,
  type Versioning,
  type WrapKeyInput,
  type WrappedKey,
} from './provider/key-provider.js';
export { createMaterialProvider, MATERIAL_LENGTH, materialStoreOf } from './provider/material-provider.js';
export {
  checkExpectedLatest,
  latestVersionOf,
  type MaterialStore,
  type StoredKey,
  type StoredVersion,
  zeroMaterial,
} from './provider/material-store.js';
export { isValidProviderType, PROVIDER_TYPE_PATTERN } from './provider/provider-type.js';
export { createMemoryStore } from './providers/memory/memory-store.js';
export { type CacheContext, type CacheDefinition, defineCache } from './registry/cache-definition.js';
export {
  defineProvider,
  type ProviderContext,
  type ProviderDefinition,
} from './registry/provider-definition.js';
