import type { Data } from '../../encoding/bytes.js';
import { InvalidArgument } from '../../errors/keystore-error.js';
import { checkOptions, isData, type OptionSpec, oneOf } from '../../util/check-options.js';
import {
  checkHybridMode,
  DEK_LENGTH,
  HYBRID_VERSION,
  type HybridMode,
  hybridLayout,
  hybridLength,
  NONCE_LENGTH,
  TAG_LENGTH,
} from './hybrid-format.js';
import { hashInfo, labelBytes, maxOaepPayload, modulusBytes, type RsaOaepHash } from './oaep-params.js';
import { checkPublicCryptoKey, importPublicJwk, importSpki, importSpkiPem, subtle } from './web-keys.js';

/**
 * RSA-OAEP encryption in a browser (or any runtime with WebCrypto), using
 * `globalThis.crypto.subtle` only: no `node:` import here or in what it
 * imports. Its ciphertexts are the ones `RsaOaep` makes (raw OAEP of k bytes,
 * or the hybrid format of `hybrid-format.ts`), so a server holding the private
 * key decrypts them with `RsaOaep.decrypt`. Give it the same hash and label.
 *
 *   const enc = await RsaOaepWebEncryptor.fromJwk(jwkFromServer);
 *   const ciphertext = await enc.encrypt('card number');
 */
export interface RsaOaepWebOptions {
  /** OAEP and MGF1 hash: 'sha256' (default), 'sha1', 'sha384' or 'sha512'. */
  hash?: RsaOaepHash;
  /** OAEP label; a string is taken as UTF-8. Must match the decrypting side's. */
  label?: Data;
  /** 'auto' (default): raw OAEP when the message fits one block; 'always': hybrid for all. */
  hybrid?: HybridMode;
}

interface Settings {
  readonly hash: RsaOaepHash;
  readonly label: Uint8Array<ArrayBuffer>;
  readonly hybrid: HybridMode;
}

const WEB_OPTIONS: OptionSpec = {
  hash: oneOf(['sha1', 'sha256', 'sha384', 'sha512']),
  label: isData,
  hybrid: oneOf(['auto', 'always']),
};

function settingsOf(options: RsaOaepWebOptions | undefined): Settings {
  checkOptions('RsaOaepWebEncryptor', options, WEB_OPTIONS);
  const hash = hashInfo(options?.hash).name;
  return {
    hash,
    label: new Uint8Array(labelBytes(options?.label)),
    hybrid: checkHybridMode(options?.hybrid),
  };
}

function messageBytes(data: Data): Uint8Array<ArrayBuffer> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return new Uint8Array(data);
  throw new InvalidArgument('data must be a string or a Uint8Array');
}

export class RsaOaepWebEncryptor {
  /** `rsa-oaep-<hash>`, as `RsaOaep.algorithm`. */
  readonly algorithm: `rsa-oaep-${RsaOaepHash}`;
  readonly #key: CryptoKey;
  readonly #settings: Settings;
  readonly #modulusLength: number;

  private constructor(key: CryptoKey, settings: Settings) {
    this.#modulusLength = checkPublicCryptoKey(key, settings.hash);
    this.#key = key;
    this.#settings = settings;
    this.algorithm = `rsa-oaep-${settings.hash}`;
  }

  /** From a public JWK, e.g. `RsaOaep.exportPublicKey('jwk')` sent by the server. */
  static async fromJwk(jwk: JsonWebKey, options?: RsaOaepWebOptions): Promise<RsaOaepWebEncryptor> {
    const settings = settingsOf(options);
    return new RsaOaepWebEncryptor(await importPublicJwk(jwk, settings.hash), settings);
  }

  /** From SPKI DER bytes, e.g. `RsaOaep.exportPublicKey('der')`. */
  static async fromSpki(
    der: Uint8Array | ArrayBuffer,
    options?: RsaOaepWebOptions,
  ): Promise<RsaOaepWebEncryptor> {
    const settings = settingsOf(options);
    return new RsaOaepWebEncryptor(await importSpki(der, settings.hash), settings);
  }

  /** From an SPKI PEM ('-----BEGIN PUBLIC KEY-----'), e.g. `RsaOaep.exportPublicKey('pem')`. */
  static async fromPem(pem: string, options?: RsaOaepWebOptions): Promise<RsaOaepWebEncryptor> {
    const settings = settingsOf(options);
    return new RsaOaepWebEncryptor(await importSpkiPem(pem, settings.hash), settings);
  }

  /** From an RSA-OAEP public CryptoKey imported for the same hash, with the 'encrypt' usage. */
  static async fromCryptoKey(key: CryptoKey, options?: RsaOaepWebOptions): Promise<RsaOaepWebEncryptor> {
    return new RsaOaepWebEncryptor(key, settingsOf(options));
  }

  /** The modulus length in bits. */
  get modulusLength(): number {
    return this.#modulusLength;
  }

  /** The largest message encrypted as raw OAEP: k - 2 * hLen - 2 bytes. */
  get maxOaepPayload(): number {
    return maxOaepPayload(this.#modulusLength, hashInfo(this.#settings.hash).length);
  }

  /** Raw OAEP when the message fits one block (and hybrid is not forced), the hybrid format otherwise. */
  async encrypt(data: Data): Promise<Uint8Array> {
    const message = messageBytes(data);
    if (this.#settings.hybrid === 'auto' && message.length <= this.maxOaepPayload) return this.#oaep(message);
    return this.#hybrid(message);
  }

  async #oaep(message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    const { label } = this.#settings;
    const params: RsaOaepParams = label.length > 0 ? { name: 'RSA-OAEP', label } : { name: 'RSA-OAEP' };
    return new Uint8Array(await subtle().encrypt(params, this.#key, message));
  }

  async #hybrid(message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    const k = modulusBytes(this.#modulusLength);
    const at = hybridLayout(k);
    const dek = globalThis.crypto.getRandomValues(new Uint8Array(DEK_LENGTH));
    try {
      const out = new Uint8Array(hybridLength(k, message.length));
      out[0] = HYBRID_VERSION;
      out.set(await this.#oaep(dek), at.wrappedKey);
      const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
      out.set(nonce, at.nonce);
      const aesKey = await subtle().importKey('raw', dek, { name: 'AES-GCM' }, false, ['encrypt']);
      const sealed = await subtle().encrypt(
        { name: 'AES-GCM', iv: nonce, additionalData: out.slice(0, at.nonce), tagLength: TAG_LENGTH * 8 },
        aesKey,
        message,
      );
      // WebCrypto returns the GCM ciphertext followed by the tag: the format's last two fields.
      out.set(new Uint8Array(sealed), at.body);
      return out;
    } finally {
      dek.fill(0);
    }
  }
}
