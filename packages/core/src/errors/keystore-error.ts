/**
 * Stable error codes. Callers branch on `error.code`, never on messages.
 * Messages are written by this library: they never contain key material,
 * plaintext, tokens or backend response bodies.
 */
export type KeystoreErrorCode =
  /** A ciphertext, token or envelope cannot be decrypted (tampered, truncated, foreign, wrong context). */
  | 'InvalidToken'
  /** A key given to a cipher is unusable (wrong length, type or size). */
  | 'InvalidKey'
  /** The named key, or key version, does not exist. */
  | 'KeyNotFound'
  /** The key exists already (create, import). */
  | 'KeyExists'
  /** The backend cannot be reached, is sealed, or timed out. */
  | 'ProviderUnavailable'
  /** The backend, or this keystore's configuration, refuses the operation. */
  | 'AccessDenied'
  /** The configuration is invalid; the message names the field. */
  | 'ConfigError'
  /** The provider does not offer this operation (see its capabilities). */
  | 'UnsupportedOperation'
  /** A concurrent writer changed the key first (check-and-set failed, lock not obtained). */
  | 'Conflict'
  /** An argument is invalid (the message says which and why). */
  | 'InvalidArgument'
  /** Stored data is corrupted or truncated and was not used. */
  | 'Corrupted'
  /** The provider or keystore was closed. */
  | 'Closed'
  /** A provider broke its contract or failed in an unexpected way. */
  | 'ProviderError';

/**
 * Marks our errors across copies of this package (its ESM and CJS builds, or
 * two installed versions), where `instanceof` would not see them.
 */
const BRAND = Symbol.for('@keystore/core/error');

/** Base class of every error this library throws on purpose. */
export class KeystoreError extends Error {
  readonly code: KeystoreErrorCode;

  constructor(code: KeystoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export class KeyNotFound extends KeystoreError {
  constructor(message: string) {
    super('KeyNotFound', message);
  }
}

export class KeyExists extends KeystoreError {
  constructor(message: string) {
    super('KeyExists', message);
  }
}

export class ProviderUnavailable extends KeystoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ProviderUnavailable', message, options);
  }
}

export class AccessDenied extends KeystoreError {
  constructor(message: string) {
    super('AccessDenied', message);
  }
}

export class ConfigError extends KeystoreError {
  constructor(message: string) {
    super('ConfigError', message);
  }
}

export class UnsupportedOperation extends KeystoreError {
  constructor(message: string) {
    super('UnsupportedOperation', message);
  }
}

export class Conflict extends KeystoreError {
  constructor(message: string) {
    super('Conflict', message);
  }
}

export class InvalidArgument extends KeystoreError {
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}

export class Corrupted extends KeystoreError {
  constructor(message: string) {
    super('Corrupted', message);
  }
}

export class Closed extends KeystoreError {
  constructor(message: string) {
    super('Closed', message);
  }
}

export class ProviderError extends KeystoreError {
  constructor(message: string) {
    super('ProviderError', message);
  }
}

/** Whether `error` is one of ours with the given code. */
export function isKeystoreError(error: unknown, code?: KeystoreErrorCode): error is KeystoreError {
  if (error === null || typeof error !== 'object') return false;
  const ours = error instanceof KeystoreError || (error as { [BRAND]?: unknown })[BRAND] === true;
  return ours && (code === undefined || (error as KeystoreError).code === code);
}
