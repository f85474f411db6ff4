/**
 * `@keystore/core`: what applications use, and (from `./provider.js`, also
 * its own entry `@keystore/core/provider`) everything an adapter needs.
 */

export type { Cipher } from './ciphers/cipher.js';
export { Fernet, type FernetDecryptOptions } from './ciphers/fernet/fernet.js';
export { MultiFernet } from './ciphers/fernet/multi-fernet.js';
export type { HybridMode } from './ciphers/rsa/hybrid-format.js';
export type { RsaKeyInput } from './ciphers/rsa/key-input.js';
export type { RsaKeyPair, RsaKeyPairOptions } from './ciphers/rsa/key-pair.js';
export type { RsaOaepHash } from './ciphers/rsa/oaep-params.js';
export { type RsaKeyFormat, RsaOaep, type RsaOaepOptions } from './ciphers/rsa/rsa-oaep.js';
export { RsaOaepWebEncryptor, type RsaOaepWebOptions } from './ciphers/rsa/web-encryptor.js';
export { keystoreConfigSchema } from './config/config-schema.js';
export type {
  CacheConfig,
  KeystoreCacheConfigs,
  KeystoreConfig,
  ProviderConfig,
} from './config/keystore-config.js';
export {
  CONFIG_ENV_VARIABLE,
  CONFIG_FILE_NAME,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
} from './config/load-config.js';
export { resolveSecret } from './config/secret-ref.js';
export type { Data } from './encoding/bytes.js';
export {
  ALGORITHMS,
  ENVELOPE_PREFIX,
  type EnvelopeAlgorithm,
  type EnvelopeHeader,
  formatEnvelope,
  type ParsedEnvelope,
  parseEnvelope,
} from './envelope/envelope-format.js';
export { MULTI_ENVELOPE_PREFIX } from './envelope/multi-envelope-format.js';
export { NoRecipientOpened, type RecipientAttempt } from './errors/no-recipient-opened.js';
export { type CreateKeystoreOptions, createKeystore } from './keystore/create-keystore.js';
export { KeyPolicy } from './keystore/key-policy.js';
export {
  type AddRecipientOptions,
  type BulkItem,
  type BulkOptions,
  type BulkResult,
  type DecryptOptions,
  type EncryptOptions,
  type EnvelopeInfo,
  type EnvelopeRecipientInfo,
  Keystore,
  type KeystoreOptions,
  type KeystoreRecipient,
  MAX_PAYLOAD_BYTES,
  type RecipientCacheStats,
  type RecipientInfo,
  type RecipientOption,
  type RecipientRef,
} from './keystore/keystore.js';
export * from './provider.js';
export { createEnvProvider } from './providers/env/env-provider.js';
export { DEFAULT_ENV_PREFIX, type EnvProviderOptions, envNameOf } from './providers/env/env-store.js';
export { DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT, type KdfOptions } from './providers/file/format/kdf.js';
export { createFileProvider, type FileProviderOptions } from './providers/file/provider.js';
export {
  type ChangeFileSecretOptions,
  changeFileKeystoreSecret,
} from './providers/file/store/change-secret.js';
export {
  type RestoreFileKeystoreOptions,
  restoreFileKeystore,
} from './providers/file/store/restore.js';
export { createFileStore, type FileStoreOptions } from './providers/file/store/store.js';
export { createMemoryProvider, type MemoryProviderOptions } from './providers/memory/memory-provider.js';
export {
  compareDigest,
  DEFAULT_TOKEN_BYTES,
  randomToken,
  type TokenEncoding,
  tokenBytes,
  tokenHex,
  tokenUrlsafe,
} from './random/secrets.js';
export { CACHE_PACKAGES, resolveCache } from './registry/cache-registry.js';
export type { ProviderOptionsOf } from './registry/provider-definition.js';
export {
  ADAPTER_PACKAGES,
  BUILTIN_PROVIDERS,
  knownProviderTypes,
  resolveProvider,
} from './registry/provider-registry.js';
