/**
 * Stable error codes, and what each means: the one table that the
 * `KeystoreErrorCode` union, `ERROR_CODES` and the guard's list of codes an
 * adapter may throw derive from. Callers branch on `error.code`, never on
 * messages. Messages are written by this library: they never contain key
 * material, plaintext, tokens or backend response bodies.
 */
export const ERROR_CODE_MEANINGS = {
  InvalidToken:
    'a ciphertext, token or envelope cannot be decrypted (tampered, truncated, foreign, wrong context)',
  InvalidKey: 'a key given to a cipher is unusable (wrong length, type or size)',
  KeyNotFound: 'the named key, or key version, does not exist',
  KeyExists: 'the key exists already (create, import)',
  ProviderUnavailable: 'the backend cannot be reached, is sealed, or timed out',
  AccessDenied: "the backend, or this keystore's configuration, refuses the operation",
  ConfigError: 'the configuration is invalid; the message names the field',
  UnsupportedOperation: 'the provider does not offer this operation (see its capabilities)',
  Conflict: 'a concurrent writer changed the key first (check-and-set failed, lock not obtained)',
  InvalidArgument: 'an argument is invalid (the message says which and why)',
  Corrupted: 'stored data is corrupted, truncated or rolled back, and was not used',
  Closed: 'the provider or keystore was closed',
  ProviderError: 'a provider broke its contract or failed in an unexpected way',
} as const;

export type KeystoreErrorCode = keyof typeof ERROR_CODE_MEANINGS;

/** Every error code, in the table's order. */
export const ERROR_CODES: readonly KeystoreErrorCode[] = Object.freeze(
  Object.keys(ERROR_CODE_MEANINGS) as KeystoreErrorCode[],
);

/** Whether `code` is one of ours. */
export function isErrorCode(code: unknown): code is KeystoreErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODE_MEANINGS, code);
}

/** Options every error class takes. */
export interface KeystoreErrorOptions {
  readonly cause?: unknown;
}

/**
 * Marks our errors across copies of this package (its ESM and CJS builds, or
 * two installed versions), where `instanceof` would not see them.
 */
const BRAND = Symbol.for('@keystore/core/error');

/** Base class of every error this library throws on purpose. */
export class KeystoreError extends Error {
  readonly code: KeystoreErrorCode;

  constructor(code: KeystoreErrorCode, message: string, options?: KeystoreErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export class KeyNotFound extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('KeyNotFound', message, options);
  }
}

export class KeyExists extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('KeyExists', message, options);
  }
}

export class ProviderUnavailable extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('ProviderUnavailable', message, options);
  }
}

export class AccessDenied extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('AccessDenied', message, options);
  }
}

export class ConfigError extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('ConfigError', message, options);
  }
}

export class UnsupportedOperation extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('UnsupportedOperation', message, options);
  }
}

export class Conflict extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('Conflict', message, options);
  }
}

export class InvalidArgument extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('InvalidArgument', message, options);
  }
}

export class Corrupted extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('Corrupted', message, options);
  }
}

export class Closed extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('Closed', message, options);
  }
}

export class ProviderError extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('ProviderError', message, options);
  }
}

/** Whether `error` is one of ours with the given code. */
export function isKeystoreError(error: unknown, code?: KeystoreErrorCode): error is KeystoreError {
  if (error === null || typeof error !== 'object') return false;
  const ours = error instanceof KeystoreError || (error as { [BRAND]?: unknown })[BRAND] === true;
  return ours && (code === undefined || (error as KeystoreError).code === code);
}
