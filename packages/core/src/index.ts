export type { Cipher } from './ciphers/cipher.js';
export { Fernet, type FernetDecryptOptions } from './ciphers/fernet/fernet.js';
export { MultiFernet } from './ciphers/fernet/multi-fernet.js';
export type { Data } from './encoding/bytes.js';
export { InvalidKey } from './errors/invalid-key.js';
export { InvalidToken } from './errors/invalid-token.js';
export { KeystoreError, type KeystoreErrorCode } from './errors/keystore-error.js';
export {
  compareDigest,
  DEFAULT_TOKEN_BYTES,
  randomToken,
  type TokenEncoding,
  tokenBytes,
  tokenHex,
  tokenUrlsafe,
} from './random/secrets.js';
