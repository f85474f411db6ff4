import type { Data } from '../encoding/bytes.js';

/**
 * What every cipher of this library offers, so that envelope encryption and
 * applications can pick the algorithm. `TCiphertext` is the cipher's natural
 * ciphertext form: a token string for Fernet, raw bytes for RSA-OAEP.
 */
export interface Cipher<TCiphertext extends string | Uint8Array = string | Uint8Array> {
  /** A stable algorithm name, e.g. `fernet` or `rsa-oaep-sha256`. */
  readonly algorithm: string;
  encrypt(data: Data): TCiphertext;
  /** Decrypts or throws `InvalidToken`, whatever is wrong with the ciphertext. */
  decrypt(ciphertext: TCiphertext): Uint8Array;
}
