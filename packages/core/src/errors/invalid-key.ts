import { KeystoreError, type KeystoreErrorOptions } from './keystore-error.js';

/**
 * Thrown when a key given to a cipher is unusable (wrong length, wrong type,
 * too small). The message says what is expected and never echoes the key.
 */
export class InvalidKey extends KeystoreError {
  constructor(message: string, options?: KeystoreErrorOptions) {
    super('InvalidKey', message, options);
  }
}
