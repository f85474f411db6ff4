import { KeystoreError } from './keystore-error.js';

const MESSAGE =
  'Invalid token: it is malformed, was tampered with, has expired, or was made with another key or another encryption context';

/**
 * Thrown for every ciphertext that cannot be decrypted, whatever the reason:
 * bad encoding, truncation, a wrong MAC, bad padding, expiry, a foreign key,
 * a wrong encryption context. Naming the context among the causes tells a
 * caller who forgot it where to look, and gives nothing away: every cause
 * gets the same text.
 * The message is always the same and there is never a `cause`, so that the
 * error gives no padding, MAC or timing oracle.
 */
export class InvalidToken extends KeystoreError {
  constructor() {
    super('InvalidToken', MESSAGE);
  }
}
