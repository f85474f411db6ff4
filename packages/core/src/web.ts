/**
 * `@keystore/core/web`: what a front end needs, and nothing that imports a
 * Node module, so a bundler never pulls `node:crypto` or `fs` into a page.
 * `RsaOaepWebEncryptor` encrypts with WebCrypto to a public key whose private
 * half a server holds (`RsaOaep` from the main entry decrypts).
 */
export type { HybridMode } from './ciphers/rsa/hybrid-format.js';
export type { RsaOaepHash } from './ciphers/rsa/oaep-params.js';
export { RsaOaepWebEncryptor, type RsaOaepWebOptions } from './ciphers/rsa/web-encryptor.js';
export type { Data } from './encoding/bytes.js';
export { InvalidKey } from './errors/invalid-key.js';
export { InvalidToken } from './errors/invalid-token.js';
export { isKeystoreError, KeystoreError, type KeystoreErrorCode } from './errors/keystore-error.js';
