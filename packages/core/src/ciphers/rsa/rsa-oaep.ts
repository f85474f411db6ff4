import type { JsonWebKey, KeyObject } from 'node:crypto';
import { type Data, toBuffer } from '../../encoding/bytes.js';
import { InvalidKey } from '../../errors/invalid-key.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import { InvalidArgument, KeystoreError } from '../../errors/keystore-error.js';
import { checkOptions, isAny, isData, type OptionSpec, oneOf } from '../../util/check-options.js';
import type { Cipher } from '../cipher.js';
import { checkHybridMode, classify, type HybridMode } from './hybrid-format.js';
import { matchingPublicKey, parsePrivateKey, parsePublicKey, type RsaKeyInput } from './key-input.js';
import {
  generateRsaKeyPair,
  generateRsaKeyPairAsync,
  type RsaKeyPair,
  type RsaKeyPairOptions,
} from './key-pair.js';
import { hashInfo, labelBytes, maxOaepPayload, modulusBytes, type RsaOaepHash } from './oaep-params.js';
import { type OaepParams, openHybrid, openRaw, sealHybrid, sealRaw } from './seal.js';

export interface RsaOaepOptions {
  /** Encrypts. Derived from `privateKey` when omitted; must match it when both are given. */
  publicKey?: RsaKeyInput;
  /** Decrypts. Without it the instance can only encrypt. */
  privateKey?: RsaKeyInput;
  /** OAEP hash, also used for MGF1: 'sha256' (default), 'sha1', 'sha384' or 'sha512'. */
  hash?: RsaOaepHash;
  /** OAEP label, bound into every ciphertext; a string is taken as UTF-8. Empty by default. */
  label?: Data;
  /**
   * 'auto' (default): raw OAEP when the message fits one block, hybrid
   * otherwise. 'always': hybrid for every message, so every ciphertext has
   * one format (whose length reveals the message length, as GCM's does).
   */
  hybrid?: HybridMode;
}

/** Keys are checked by the key parser (InvalidKey); the rest here, before any key is parsed. */
const RSA_OAEP_OPTIONS: OptionSpec = {
  publicKey: isAny,
  privateKey: isAny,
  hash: oneOf(['sha1', 'sha256', 'sha384', 'sha512']),
  label: isData,
  hybrid: oneOf(['auto', 'always']),
};

/** Key export formats: PEM (SPKI / PKCS#8), DER of the same, or JWK (with `alg` and `use: 'enc'`). */
export type RsaKeyFormat = 'pem' | 'der' | 'jwk';

function noPrivateKey(what: string): KeystoreError {
  return new KeystoreError(
    'UnsupportedOperation',
    `This RsaOaep instance has no private key: it cannot ${what}`,
  );
}

/**
 * RSA-OAEP (RFC 8017) through OpenSSL, with a hybrid mode for messages longer
 * than one OAEP block: see `hybrid-format.ts` and README.md for the formats.
 * Keys are parsed and checked once, here, and kept in private fields.
 */
export class RsaOaep implements Cipher<Uint8Array> {
  /** `rsa-oaep-<hash>`, e.g. `rsa-oaep-sha256`. */
  readonly algorithm: `rsa-oaep-${RsaOaepHash}`;
  readonly #publicKey: KeyObject;
  readonly #privateKey: KeyObject | undefined;
  readonly #params: OaepParams;
  readonly #hybrid: HybridMode;
  readonly #modulusLength: number;
  readonly #k: number;
  readonly #maxOaepPayload: number;

  constructor(options: RsaOaepOptions) {
    if (options === undefined) throw new InvalidKey('RSA-OAEP needs a publicKey, a privateKey or both');
    checkOptions('RsaOaep', options, RSA_OAEP_OPTIONS);
    const hash = hashInfo(options?.hash);
    const hybrid = checkHybridMode(options?.hybrid);
    const label = labelBytes(options?.label);
    if (options?.publicKey === undefined && options?.privateKey === undefined) {
      throw new InvalidKey('RSA-OAEP needs a publicKey, a privateKey or both');
    }
    const publicKey =
      options.publicKey === undefined ? undefined : parsePublicKey(options.publicKey, hash.name);
    const privateKey =
      options.privateKey === undefined ? undefined : parsePrivateKey(options.privateKey, hash.name);
    this.#privateKey = privateKey;
    this.#publicKey =
      privateKey === undefined ? (publicKey as KeyObject) : matchingPublicKey(privateKey, publicKey);
    this.#params = { hash: hash.name, label };
    this.#hybrid = hybrid;
    this.#modulusLength = this.#publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    this.#k = modulusBytes(this.#modulusLength);
    this.#maxOaepPayload = maxOaepPayload(this.#modulusLength, hash.length);
    this.algorithm = `rsa-oaep-${hash.name}`;
  }

  /** A fresh key pair (public exponent 65537), synchronously; `modulusLength` 2048 (default) to 4096. */
  static generateKeyPair(options?: RsaKeyPairOptions): RsaKeyPair {
    return generateRsaKeyPair(options);
  }

  /** As `generateKeyPair`, without blocking the event loop. */
  static generateKeyPairAsync(options?: RsaKeyPairOptions): Promise<RsaKeyPair> {
    return generateRsaKeyPairAsync(options);
  }

  /** The modulus length in bits (2048 to 4096). */
  get modulusLength(): number {
    return this.#modulusLength;
  }

  /** The largest message encrypted as raw OAEP: k - 2 * hLen - 2 bytes (190 for 2048-bit SHA-256). */
  get maxOaepPayload(): number {
    return this.#maxOaepPayload;
  }

  /** The OAEP and MGF1 hash. */
  get hash(): RsaOaepHash {
    return this.#params.hash;
  }

  /** Whether this instance holds a private key and so can decrypt. */
  get canDecrypt(): boolean {
    return this.#privateKey !== undefined;
  }

  /**
   * Encrypts `data` (bytes, or a string as UTF-8): raw OAEP (k bytes) when it
   * fits one block and hybrid is not forced, the hybrid format otherwise.
   */
  encrypt(data: Data): Uint8Array {
    const message = toBuffer(data);
    if (this.#hybrid === 'auto' && message.length <= this.#maxOaepPayload) {
      return sealRaw(this.#publicKey, this.#params, message);
    }
    return sealHybrid(this.#publicKey, this.#params, this.#k, message);
  }

  /**
   * Decrypts raw OAEP (exactly k bytes, from any OAEP implementation with the
   * same hash and label) or the hybrid format.
   * @throws InvalidToken whatever is wrong: length, tampering, wrong key or label.
   */
  decrypt(ciphertext: Uint8Array): Uint8Array {
    const privateKey = this.#privateKey;
    if (privateKey === undefined) throw noPrivateKey('decrypt');
    const kind = ciphertext instanceof Uint8Array ? classify(ciphertext, this.#k) : undefined;
    let plaintext: Uint8Array | undefined;
    if (kind === 'raw') plaintext = openRaw(privateKey, this.#params, ciphertext);
    else if (kind === 'hybrid') plaintext = openHybrid(privateKey, this.#params, this.#k, ciphertext);
    if (plaintext === undefined) throw new InvalidToken();
    return plaintext;
  }

  /** The public key as SPKI PEM (default), SPKI DER or JWK. */
  exportPublicKey(format?: 'pem'): string;
  exportPublicKey(format: 'der'): Uint8Array;
  exportPublicKey(format: 'jwk'): JsonWebKey;
  exportPublicKey(format: RsaKeyFormat = 'pem'): string | Uint8Array | JsonWebKey {
    return this.#export(this.#publicKey, 'spki', format);
  }

  /** The private key as unencrypted PKCS#8 PEM (default), PKCS#8 DER or JWK. Handle with care. */
  exportPrivateKey(format?: 'pem'): string;
  exportPrivateKey(format: 'der'): Uint8Array;
  exportPrivateKey(format: 'jwk'): JsonWebKey;
  exportPrivateKey(format: RsaKeyFormat = 'pem'): string | Uint8Array | JsonWebKey {
    if (this.#privateKey === undefined) throw noPrivateKey('export a private key');
    return this.#export(this.#privateKey, 'pkcs8', format);
  }

  #export(key: KeyObject, type: 'spki' | 'pkcs8', format: RsaKeyFormat): string | Uint8Array | JsonWebKey {
    switch (format) {
      case 'pem':
        return key.export({ type, format: 'pem' }) as string;
      case 'der':
        return new Uint8Array(key.export({ type, format: 'der' }));
      case 'jwk':
        return { ...key.export({ format: 'jwk' }), alg: hashInfo(this.#params.hash).jwkAlg, use: 'enc' };
      default:
        throw new InvalidArgument("format must be 'pem', 'der' or 'jwk'");
    }
  }
}
