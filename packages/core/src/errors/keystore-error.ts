/**
 * Stable error codes. Callers branch on `error.code`, never on messages.
 * Messages are fixed strings chosen by the library: they never contain key
 * material, plaintext, tokens or backend response bodies.
 */
export type KeystoreErrorCode =
  | 'InvalidToken'
  | 'InvalidKey'
  | 'KeyNotFound'
  | 'ProviderUnavailable'
  | 'AccessDenied'
  | 'ConfigError'
  | 'UnsupportedOperation'
  | 'Conflict';

/** Base class of every error this library throws on purpose. */
export class KeystoreError extends Error {
  readonly code: KeystoreErrorCode;

  constructor(code: KeystoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code;
  }
}
