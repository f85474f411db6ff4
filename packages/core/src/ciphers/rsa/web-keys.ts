import { InvalidKey } from '../../errors/invalid-key.js';
import { KeystoreError } from '../../errors/keystore-error.js';
import {
  hasEvenModulus,
  hashInfo,
  isAcceptableExponent,
  isSupportedModulus,
  MAX_MODULUS_BITS,
  MIN_MODULUS_BITS,
  type RsaOaepHash,
} from './oaep-params.js';

/**
 * Importing and checking RSA-OAEP public keys with WebCrypto only (no
 * `node:` imports), for `RsaOaepWebEncryptor`. The checks are the Node
 * side's: plain RSA, 2048 to 4096 bits, odd exponent of at least 3, no
 * private material. Messages never echo the key.
 */

export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) {
    throw new KeystoreError(
      'UnsupportedOperation',
      'WebCrypto is not available (globalThis.crypto.subtle): browsers offer it only in secure contexts (HTTPS)',
    );
  }
  return s;
}

function algorithmFor(hash: RsaOaepHash): RsaHashedImportParams {
  return { name: 'RSA-OAEP', hash: hashInfo(hash).webCrypto };
}

function unparsable(what: string): InvalidKey {
  return new InvalidKey(`RSA-OAEP public key could not be imported: expected ${what} of an RSA public key`);
}

async function importOrThrow(
  format: 'spki' | 'jwk',
  data: BufferSource | JsonWebKey,
  hash: RsaOaepHash,
  what: string,
): Promise<CryptoKey> {
  try {
    return format === 'jwk'
      ? await subtle().importKey('jwk', data as JsonWebKey, algorithmFor(hash), false, ['encrypt'])
      : await subtle().importKey('spki', data as BufferSource, algorithmFor(hash), false, ['encrypt']);
  } catch {
    throw unparsable(what);
  }
}

function exponentOf(bytes: Uint8Array): bigint {
  let e = 0n;
  for (const byte of bytes) e = (e << 8n) | BigInt(byte);
  return e;
}

/** Checks a CryptoKey as the Node side checks a KeyObject; returns its modulus length in bits. */
export function checkPublicCryptoKey(key: CryptoKey, hash: RsaOaepHash): number {
  const algorithm = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
  if (key.type !== 'public') throw new InvalidKey('RSA-OAEP encryption needs a public key');
  if (algorithm.name !== 'RSA-OAEP') throw new InvalidKey('RSA-OAEP public key is not an RSA-OAEP CryptoKey');
  if (algorithm.hash?.name !== hashInfo(hash).webCrypto) {
    throw new InvalidKey(`RSA-OAEP public key was imported for another hash than ${hash}`);
  }
  if (!key.usages.includes('encrypt')) throw new InvalidKey("RSA-OAEP public key does not allow 'encrypt'");
  if (!isSupportedModulus(algorithm.modulusLength)) {
    throw new InvalidKey(
      `RSA-OAEP keys must have a modulus of ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS} bits, got ${algorithm.modulusLength ?? 'unknown'}`,
    );
  }
  if (algorithm.publicExponent === undefined || !isAcceptableExponent(exponentOf(algorithm.publicExponent))) {
    throw new InvalidKey(
      'RSA-OAEP public key has an unusable public exponent (it must be odd and at least 3)',
    );
  }
  return algorithm.modulusLength;
}

/** A public JWK (`kty: 'RSA'`, no `d`; `alg`, when present, must match the hash). */
export async function importPublicJwk(jwk: JsonWebKey, hash: RsaOaepHash): Promise<CryptoKey> {
  if (typeof jwk !== 'object' || jwk === null) throw unparsable('a JWK');
  if (jwk.kty !== 'RSA') throw new InvalidKey('RSA-OAEP public key is a JWK whose kty is not RSA');
  if (jwk.d !== undefined) {
    throw new InvalidKey('RSA-OAEP public key is a private JWK: give the browser the public key only');
  }
  const expected = hashInfo(hash).jwkAlg;
  if (jwk.alg !== undefined && jwk.alg !== expected) {
    throw new InvalidKey(
      `RSA-OAEP public key is a JWK whose alg does not match hash ${hash} (expected ${expected})`,
    );
  }
  // WebCrypto imports an even modulus and fails only at encrypt, with an OperationError.
  if (hasEvenModulus(jwk.n))
    throw new InvalidKey('RSA-OAEP public key has an even modulus: it is not an RSA key');
  return importOrThrow('jwk', jwk, hash, 'a JWK');
}

/** SPKI DER bytes (WebCrypto does not read PKCS#1). */
export async function importSpki(der: Uint8Array | ArrayBuffer, hash: RsaOaepHash): Promise<CryptoKey> {
  if (!(der instanceof Uint8Array) && !(der instanceof ArrayBuffer)) throw unparsable('SPKI DER bytes');
  return importOrThrow('spki', new Uint8Array(der), hash, 'SPKI DER bytes');
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/;

/** An SPKI PEM ('-----BEGIN PUBLIC KEY-----'). */
export async function importSpkiPem(pem: string, hash: RsaOaepHash): Promise<CryptoKey> {
  const match = typeof pem === 'string' ? PEM.exec(pem) : null;
  if (match === null) throw unparsable('an SPKI PEM');
  const [, type = '', body = ''] = match;
  if (type.includes('PRIVATE')) {
    throw new InvalidKey('RSA-OAEP public key PEM holds a private key: give the browser the public key only');
  }
  if (type !== 'PUBLIC KEY') {
    throw new InvalidKey("RSA-OAEP public key PEM must be SPKI ('BEGIN PUBLIC KEY'), which WebCrypto reads");
  }
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = Uint8Array.from(atob(body.replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  } catch {
    throw unparsable('an SPKI PEM');
  }
  return importOrThrow('spki', der, hash, 'an SPKI PEM');
}
