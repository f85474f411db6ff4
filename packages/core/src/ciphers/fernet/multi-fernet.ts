import type { Data } from '../../encoding/bytes.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import { InvalidArgument } from '../../errors/keystore-error.js';
import { nextIv } from '../../random/iv-pool.js';
import { checkOptions } from '../../util/check-options.js';
import type { Cipher } from '../cipher.js';
import { FERNET_DECRYPT_OPTIONS, Fernet, type FernetDecryptOptions } from './fernet.js';
import { atTimeCheck, checkSeconds, type TimeCheck, ttlCheck } from './time.js';
import { decodeToken, IV_LENGTH, readTimestamp } from './token-format.js';

/**
 * Key rotation for Fernet, as Python's `MultiFernet`: the first key encrypts,
 * every key decrypts, and `rotate` moves a token to the first key while
 * keeping its original timestamp.
 */
export class MultiFernet implements Cipher<string> {
  readonly algorithm = 'fernet';
  readonly #fernets: readonly Fernet[];

  constructor(fernets: readonly Fernet[]) {
    if (!Array.isArray(fernets) || fernets.length === 0) {
      throw new InvalidArgument('MultiFernet requires an array of at least one Fernet instance');
    }
    if (!fernets.every((f) => f instanceof Fernet)) {
      throw new InvalidArgument('MultiFernet takes Fernet instances');
    }
    this.#fernets = [...fernets];
  }

  get #primary(): Fernet {
    return this.#fernets[0] as Fernet;
  }

  encrypt(data: Data): string {
    return this.#primary.encrypt(data);
  }

  encryptAtTime(data: Data, currentTime: number): string {
    return this.#primary.encryptAtTime(data, currentTime);
  }

  decrypt(token: string | Uint8Array, options?: FernetDecryptOptions): Uint8Array {
    if (options !== undefined) checkOptions('MultiFernet.decrypt', options, FERNET_DECRYPT_OPTIONS);
    return this.#decryptRaw(decodeToken(token), ttlCheck(options?.ttl));
  }

  decryptAtTime(token: string | Uint8Array, ttl: number, currentTime: number): Uint8Array {
    return this.#decryptRaw(decodeToken(token), atTimeCheck(ttl, currentTime));
  }

  /** The timestamp of a token made by any of the keys. */
  extractTimestamp(token: string | Uint8Array): number {
    const raw = decodeToken(token);
    if (raw !== undefined) {
      for (const f of this.#fernets) if (f.verifies(raw)) return readTimestamp(raw);
    }
    throw new InvalidToken();
  }

  /**
   * Re-encrypts a token made by any of the keys under the first key, keeping
   * its timestamp. No TTL check: rotating an old token must not lose it.
   */
  rotate(token: string | Uint8Array): string {
    const raw = decodeToken(token);
    const plaintext = this.#decryptRaw(raw, undefined);
    const timestamp = readTimestamp(raw as Buffer);
    checkSeconds(timestamp, 'timestamp');
    return this.#primary.encryptFromParts(
      Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength),
      timestamp,
      nextIv(IV_LENGTH),
    );
  }

  #decryptRaw(raw: Buffer | undefined, time: TimeCheck | undefined): Uint8Array {
    if (raw !== undefined) {
      for (const f of this.#fernets) {
        const plaintext = f.openDecoded(raw, time);
        if (plaintext !== undefined) return plaintext;
      }
    }
    throw new InvalidToken();
  }
}
