export type { Cipher } from './ciphers/cipher.js';
export { Fernet, type FernetDecryptOptions } from './ciphers/fernet/fernet.js';
export { MultiFernet } from './ciphers/fernet/multi-fernet.js';
export type { HybridMode } from './ciphers/rsa/hybrid-format.js';
export type { RsaKeyInput } from './ciphers/rsa/key-input.js';
export type { RsaKeyPair, RsaKeyPairOptions } from './ciphers/rsa/key-pair.js';
export type { RsaOaepHash } from './ciphers/rsa/oaep-params.js';
export { type RsaKeyFormat, RsaOaep, type RsaOaepOptions } from './ciphers/rsa/rsa-oaep.js';
export { RsaOaepWebEncryptor, type RsaOaepWebOptions } from './ciphers/rsa/web-encryptor.js';
export {
  canonicalContext,
  contextDigest,
  type EncryptionContext,
  normalizeContext,
} from './context/encryption-context.js';
export type { Data } from './encoding/bytes.js';
export { InvalidKey } from './errors/invalid-key.js';
export { InvalidToken } from './errors/invalid-token.js';
export {
  AccessDenied,
  Closed,
  ConfigError,
  Conflict,
  Corrupted,
  InvalidArgument,
  isKeystoreError,
  KeyExists,
  KeyNotFound,
  KeystoreError,
  type KeystoreErrorCode,
  ProviderError,
  ProviderUnavailable,
  UnsupportedOperation,
} from './errors/keystore-error.js';
export { checkKeyId, type GuardOptions, guardProvider } from './provider/guard-provider.js';
export {
  ALL_CAPABILITIES,
  type Capability,
  type CreateKeyOptions,
  type DataKey,
  type DeleteKeyOptions,
  type GenerateDataKeyInput,
  type KeyMaterial,
  type KeyMetadata,
  type KeyProvider,
  type KeyVersionInfo,
  type KeyVersionState,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from './provider/key-provider.js';
export { createMaterialProvider, MATERIAL_LENGTH } from './provider/material-provider.js';
export type { MaterialStore, StoredKey, StoredVersion } from './provider/material-store.js';
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
