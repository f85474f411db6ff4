import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { decodeBase64Url, encodeBase64UrlPadded } from '../../encoding/base64url.js';
import { type Data, toBuffer } from '../../encoding/bytes.js';
import { tokenScratch } from '../../encoding/scratch.js';
import { InvalidKey } from '../../errors/invalid-key.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import { InvalidArgument } from '../../errors/keystore-error.js';
import { nextIv } from '../../random/iv-pool.js';
import { checkOptions, type OptionSpec } from '../../util/check-options.js';
import type { Cipher } from '../cipher.js';
import { checkPayloadSize } from '../payload-limit.js';
import { atTimeCheck, checkSeconds, nowSeconds, type TimeCheck, ttlCheck } from './time.js';
import {
  BLOCK,
  CIPHERTEXT_OFFSET,
  decodeToken,
  HMAC_LENGTH,
  IV_LENGTH,
  IV_OFFSET,
  MAX_CLOCK_SKEW,
  readTimestamp,
  VERSION,
} from './token-format.js';

const KEY_LENGTH = 32;
const BAD_KEY = 'Fernet key must be 32 url-safe base64-encoded bytes';

export interface FernetDecryptOptions {
  /** Seconds a token stays valid after its timestamp; no time checks when absent. */
  ttl?: number;
}

/** `ttl` may also be null, as Python's `ttl=None`; its value is checked by `ttlCheck`. */
export const FERNET_DECRYPT_OPTIONS: OptionSpec = {
  ttl: { expected: 'a finite number of seconds', test: (v) => v === null || typeof v === 'number' },
};

/** Plaintext bytes per AES call when a token is written in pieces: no ciphertext copy of the whole. */
const PIECE = 1024 * 1024;

function parseKey(key: string | Uint8Array): Buffer {
  let bytes: Buffer | undefined;
  if (typeof key === 'string') bytes = decodeBase64Url(key);
  else if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else throw new InvalidKey(BAD_KEY);
  if (bytes === undefined || bytes.length !== KEY_LENGTH) {
    bytes?.fill(0);
    throw new InvalidKey(BAD_KEY);
  }
  return bytes;
}

/**
 * Fernet symmetric encryption, byte for byte as the Fernet spec and Python's
 * `cryptography.fernet` define it: AES-128-CBC with PKCS7 padding,
 * HMAC-SHA256 over version, timestamp, IV and ciphertext, base64url tokens.
 */
export class Fernet implements Cipher<string> {
  readonly algorithm = 'fernet';
  readonly #signingKey: KeyObject | Buffer;
  readonly #encryptionKey: KeyObject | Buffer;
  /** The key bytes of a one-message Fernet (`forDataKey`), zeroed by `destroy`. */
  readonly #raw: Buffer | undefined;
  /** Set only while `forDataKey` constructs. */
  static #oneMessage = false;

  /** @param key 32 bytes, raw or base64url-encoded (as `Fernet.generateKey()` returns). */
  constructor(key: string | Uint8Array) {
    const bytes = parseKey(key);
    if (Fernet.#oneMessage) {
      this.#raw = bytes;
      this.#signingKey = bytes.subarray(0, 16);
      this.#encryptionKey = bytes.subarray(16, 32);
      return;
    }
    this.#raw = undefined;
    this.#signingKey = createSecretKey(bytes.subarray(0, 16));
    this.#encryptionKey = createSecretKey(bytes.subarray(16, 32));
    bytes.fill(0);
  }

  /**
   * @internal A Fernet for one message's data key (the Keystore's payload
   * cipher): it keeps a copy of the key bytes instead of parsing them into
   * two KeyObjects, which for a key used once costs more than a small
   * message's own encryption; `destroy()` zeroes the copy. Long-lived keys
   * use the constructor, which parses them once.
   */
  static forDataKey(key: Uint8Array): Fernet {
    Fernet.#oneMessage = true;
    try {
      return new Fernet(key);
    } finally {
      Fernet.#oneMessage = false;
    }
  }

  /** @internal Zeroes the key copy of a `forDataKey` Fernet; it refuses to work afterwards. */
  destroy(): void {
    this.#raw?.fill(0);
    this.#destroyed = true;
  }

  #destroyed = false;

  /** A destroyed Fernet's key is zeros: it must never seal or open anything with it. */
  #checkUsable(): void {
    if (this.#destroyed) throw new InvalidArgument('this Fernet was destroyed: its key is gone');
  }

  /** A fresh key: 32 random bytes, base64url with padding (44 characters). */
  static generateKey(): string {
    return encodeBase64UrlPadded(randomBytes(KEY_LENGTH));
  }

  /** Encrypts `data` (bytes, or a string as UTF-8) with the current time as the token's timestamp. */
  encrypt(data: Data): string {
    return this.encryptAtTime(data, nowSeconds());
  }

  /** Encrypts with `currentTime` (seconds since the epoch) as the token's timestamp. */
  encryptAtTime(data: Data, currentTime: number): string {
    checkSeconds(currentTime, 'currentTime');
    const plaintext = toBuffer(data);
    // Beyond this the token would pass V8's longest string: refused before any work.
    checkPayloadSize('Fernet.encrypt', plaintext.length, 'one Fernet token');
    return this.encryptFromParts(plaintext, currentTime, nextIv(IV_LENGTH));
  }

  /**
   * The token for given parts. Internal, as Python's `_encrypt_from_parts`:
   * used by the spec's fixed-IV vectors and by MultiFernet.rotate.
   * The token is assembled in the shared scratch buffer (it holds no secret)
   * and HMAC'd in place: one buffer copy, no per-token allocation.
   * @internal
   */
  encryptFromParts(plaintext: Buffer, timestamp: number, iv: Uint8Array): string {
    this.#checkUsable();
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    const macOffset = CIPHERTEXT_OFFSET + body.length + tail.length;
    const token = tokenScratch(macOffset + HMAC_LENGTH);
    token[0] = VERSION;
    token.writeUInt32BE(Math.floor(timestamp / 0x1_0000_0000), 1);
    token.writeUInt32BE(timestamp >>> 0, 5);
    token.set(iv, IV_OFFSET);
    token.set(body, CIPHERTEXT_OFFSET);
    token.set(tail, CIPHERTEXT_OFFSET + body.length);
    createHmac('sha256', this.#signingKey)
      .update(token.subarray(0, macOffset))
      .digest()
      .copy(token, macOffset);
    return encodeBase64UrlPadded(token.subarray(0, macOffset + HMAC_LENGTH));
  }

  /**
   * The same token as `encryptFromParts`, handed to `sink` in pieces (header,
   * ciphertext about a MiB at a time, MAC) instead of as one string, so that
   * the caller can encode it where it wants it: a large payload's ciphertext
   * is never held whole. A string is encoded as UTF-8 piece by piece, so
   * its bytes are never held whole either. Each piece is valid only during
   * the `sink` call.
   * @internal
   */
  encryptInPieces(
    plaintext: Buffer | string,
    timestamp: number,
    iv: Uint8Array,
    sink: (piece: Buffer) => void,
  ): void {
    this.#checkUsable();
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const hmac = createHmac('sha256', this.#signingKey);
    const head = Buffer.allocUnsafe(CIPHERTEXT_OFFSET);
    head[0] = VERSION;
    head.writeUInt32BE(Math.floor(timestamp / 0x1_0000_0000), 1);
    head.writeUInt32BE(timestamp >>> 0, 5);
    head.set(iv, IV_OFFSET);
    const emit = (piece: Buffer) => {
      hmac.update(piece);
      sink(piece);
    };
    emit(head);
    if (typeof plaintext === 'string') {
      for (let at = 0; at < plaintext.length; ) {
        let end = Math.min(at + PIECE, plaintext.length);
        // Never split a surrogate pair: each half alone would encode as U+FFFD.
        const last = plaintext.charCodeAt(end - 1);
        if (end < plaintext.length && last >= 0xd800 && last <= 0xdbff) end--;
        emit(cipher.update(plaintext.slice(at, end), 'utf8'));
        at = end;
      }
    } else {
      for (let at = 0; at < plaintext.length; at += PIECE) {
        emit(cipher.update(plaintext.subarray(at, Math.min(at + PIECE, plaintext.length))));
      }
    }
    emit(cipher.final());
    sink(hmac.digest());
  }

  /**
   * Decrypts a token. With `ttl`, the token must be at most `ttl` seconds old
   * and at most 60 seconds in the future; without it, its age is not checked.
   * @throws InvalidToken whatever is wrong with the token.
   */
  decrypt(token: string | Uint8Array, options?: FernetDecryptOptions): Uint8Array {
    if (options !== undefined) checkOptions('Fernet.decrypt', options, FERNET_DECRYPT_OPTIONS);
    return this.decryptDecoded(decodeToken(token), ttlCheck(options?.ttl));
  }

  /** Decrypts as if the time were `currentTime` (seconds since the epoch); `ttl` is required. */
  decryptAtTime(token: string | Uint8Array, ttl: number, currentTime: number): Uint8Array {
    return this.decryptDecoded(decodeToken(token), atTimeCheck(ttl, currentTime));
  }

  /**
   * The token's timestamp (seconds since the epoch), after checking that the
   * token is authentic under this key.
   * @throws InvalidToken
   */
  extractTimestamp(token: string | Uint8Array): number {
    const raw = decodeToken(token);
    if (raw === undefined || !this.verifies(raw)) throw new InvalidToken();
    return readTimestamp(raw);
  }

  /** @internal Whether the decoded token's HMAC is valid under this key (constant time). */
  verifies(raw: Buffer): boolean {
    this.#checkUsable();
    const macOffset = raw.length - HMAC_LENGTH;
    const expected = createHmac('sha256', this.#signingKey).update(raw.subarray(0, macOffset)).digest();
    return timingSafeEqual(expected, raw.subarray(macOffset));
  }

  /** @internal Decrypts a decoded token or throws `InvalidToken`. */
  decryptDecoded(raw: Buffer | undefined, time: TimeCheck | undefined): Uint8Array {
    const plaintext = raw === undefined ? undefined : this.openDecoded(raw, time);
    if (plaintext === undefined) throw new InvalidToken();
    return plaintext;
  }

  /**
   * @internal Decrypts a decoded token: HMAC first (constant time), then the
   * time checks, then AES-CBC. `undefined` when the token is not authentic
   * under this key (so MultiFernet can try the next key without a second
   * HMAC pass); `InvalidToken` when it is but cannot be accepted.
   */
  openDecoded(raw: Buffer, time: TimeCheck | undefined): Uint8Array | undefined {
    if (!this.verifies(raw)) return undefined;
    if (time !== undefined) {
      const timestamp = readTimestamp(raw);
      if (timestamp + time.ttl < time.now) throw new InvalidToken();
      if (time.now + MAX_CLOCK_SKEW < timestamp) throw new InvalidToken();
    }
    return this.#decryptVerified(raw);
  }

  #decryptVerified(raw: Buffer): Uint8Array {
    const decipher = createDecipheriv(
      'aes-128-cbc',
      this.#encryptionKey,
      raw.subarray(IV_OFFSET, CIPHERTEXT_OFFSET),
    );
    decipher.setAutoPadding(false);
    const padded = decipher.update(raw.subarray(CIPHERTEXT_OFFSET, raw.length - HMAC_LENGTH));
    // `final` returns nothing here (the ciphertext is whole blocks; the padding is checked
    // below), but keep it: it frees the OpenSSL context at once. Left to the garbage collector,
    // that work lands in scavenge pauses, which made 64-byte round trips ~10% slower in the
    // benchmark (where other contenders have grown the young generation).
    decipher.final();
    // The MAC is already verified, so this PKCS7 check cannot serve as a padding oracle.
    const pad = padded[padded.length - 1] ?? 0;
    let bad = pad === 0 || pad > BLOCK ? 1 : 0;
    for (let i = padded.length - Math.min(pad, BLOCK); i < padded.length; i++) bad |= (padded[i] ?? 0) ^ pad;
    if (bad !== 0) throw new InvalidToken();
    return new Uint8Array(padded.buffer, padded.byteOffset, padded.length - pad);
  }
}
