import { createPrivateKey, createPublicKey, type JsonWebKey, KeyObject } from 'node:crypto';
import { InvalidKey } from '../../errors/invalid-key.js';
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
 * An RSA key as users hold it: a PEM string (SPKI or PKCS#1 for a public key,
 * PKCS#8 or PKCS#1 for a private one), DER bytes of the same, a JWK object or
 * a `KeyObject`. Encrypted private keys: decrypt them first with
 * `crypto.createPrivateKey({ key, passphrase })` and pass the KeyObject.
 */
export type RsaKeyInput = string | Uint8Array | JsonWebKey | KeyObject;

type Slot = 'publicKey' | 'privateKey';

const FORMATS: Record<Slot, string> = {
  publicKey: 'a PEM string (SPKI or PKCS#1), DER bytes, a JWK object or a KeyObject',
  privateKey: 'a PEM string (PKCS#8 or PKCS#1), DER bytes, a JWK object or a KeyObject',
};

const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** PKCS#8 'ENCRYPTED PRIVATE KEY', or OpenSSL's legacy PEM encryption headers. */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/;

// Messages name the slot and what is expected; they never include the input or OpenSSL's error text.
function unparsable(slot: Slot): InvalidKey {
  return new InvalidKey(`RSA-OAEP ${slot} could not be parsed: expected ${FORMATS[slot]}`);
}

function privateInPublicSlot(): InvalidKey {
  return new InvalidKey('RSA-OAEP publicKey holds private key material: pass it as privateKey instead');
}

function attempt(parse: () => KeyObject): KeyObject | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

function isJwk(input: unknown): input is JsonWebKey {
  return (
    typeof input === 'object' && input !== null && !(input instanceof Uint8Array) && !Array.isArray(input)
  );
}

/** JOSE metadata, when present, must agree with how the key will be used (as WebCrypto's importKey insists). */
function checkJwk(jwk: JsonWebKey, slot: Slot, hash: RsaOaepHash): void {
  if (jwk.kty !== 'RSA') throw new InvalidKey(`RSA-OAEP ${slot} is a JWK whose kty is not RSA`);
  const expected = hashInfo(hash).jwkAlg;
  if (jwk.alg !== undefined && jwk.alg !== expected) {
    throw new InvalidKey(
      `RSA-OAEP ${slot} is a JWK whose alg does not match hash ${hash} (expected ${expected})`,
    );
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') {
    throw new InvalidKey(`RSA-OAEP ${slot} is a JWK whose use is not 'enc'`);
  }
}

function derAsPrivate(der: Uint8Array): KeyObject | undefined {
  return (
    attempt(() => createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })) ??
    attempt(() => createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }))
  );
}

function readPublic(input: RsaKeyInput, hash: RsaOaepHash): KeyObject | undefined {
  if (input instanceof KeyObject) {
    if (input.type === 'private') throw privateInPublicSlot();
    return input.type === 'public' ? input : undefined;
  }
  if (typeof input === 'string') {
    if (PRIVATE_PEM.test(input)) throw privateInPublicSlot();
    return attempt(() => createPublicKey({ key: input, format: 'pem' }));
  }
  if (input instanceof Uint8Array) {
    const der = Buffer.from(input);
    const spki = attempt(() => createPublicKey({ key: der, format: 'der', type: 'spki' }));
    if (spki !== undefined) return spki;
    // Node's PKCS#1 DER reader also accepts private keys (and derives the public half): refuse those.
    if (derAsPrivate(der) !== undefined) throw privateInPublicSlot();
    return attempt(() => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }));
  }
  if (isJwk(input)) {
    checkJwk(input, 'publicKey', hash);
    if (input.d !== undefined) throw privateInPublicSlot();
    return attempt(() => createPublicKey({ key: input, format: 'jwk' }));
  }
  return undefined;
}

function readPrivate(input: RsaKeyInput, hash: RsaOaepHash): KeyObject | undefined {
  if (input instanceof KeyObject) {
    if (input.type === 'public') throw new InvalidKey('RSA-OAEP privateKey is a public key');
    return input.type === 'private' ? input : undefined;
  }
  if (typeof input === 'string') {
    if (ENCRYPTED_PEM.test(input)) {
      throw new InvalidKey(
        'RSA-OAEP privateKey is encrypted: pass crypto.createPrivateKey({ key, passphrase }) instead',
      );
    }
    return attempt(() => createPrivateKey({ key: input, format: 'pem' }));
  }
  if (input instanceof Uint8Array) return derAsPrivate(input);
  if (isJwk(input)) {
    checkJwk(input, 'privateKey', hash);
    if (input.d === undefined) throw new InvalidKey('RSA-OAEP privateKey is a public JWK (it has no d)');
    return attempt(() => createPrivateKey({ key: input, format: 'jwk' }));
  }
  return undefined;
}

/** Checks that a parsed key is plain RSA with a modulus of 2048 to 4096 bits and a sane exponent. */
function checkRsa(key: KeyObject, slot: Slot): KeyObject {
  if (key.asymmetricKeyType === 'rsa-pss') {
    throw new InvalidKey(`RSA-OAEP ${slot} is an RSA-PSS key, which can only sign; use a plain RSA key`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new InvalidKey(
      `RSA-OAEP ${slot} is not an RSA key (got ${key.asymmetricKeyType ?? 'a secret key'})`,
    );
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (!isSupportedModulus(details.modulusLength)) {
    throw new InvalidKey(
      `RSA-OAEP keys must have a modulus of ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS} bits, got ${details.modulusLength ?? 'unknown'}`,
    );
  }
  if (details.publicExponent === undefined || !isAcceptableExponent(details.publicExponent)) {
    throw new InvalidKey(`RSA-OAEP ${slot} has an unusable public exponent (it must be odd and at least 3)`);
  }
  // Whatever the input format: OpenSSL parses an even modulus and fails only at encrypt, with a raw error.
  if (hasEvenModulus(key.export({ format: 'jwk' }).n)) {
    throw new InvalidKey(`RSA-OAEP ${slot} has an even modulus: it is not an RSA key`);
  }
  return key;
}

/** Parses and checks a public key; throws `InvalidKey` without echoing the input. */
export function parsePublicKey(input: RsaKeyInput, hash: RsaOaepHash): KeyObject {
  const key = readPublic(input, hash);
  if (key === undefined) throw unparsable('publicKey');
  return checkRsa(key, 'publicKey');
}

/** Parses and checks a private key; throws `InvalidKey` without echoing the input. */
export function parsePrivateKey(input: RsaKeyInput, hash: RsaOaepHash): KeyObject {
  const key = readPrivate(input, hash);
  if (key === undefined) throw unparsable('privateKey');
  return checkRsa(key, 'privateKey');
}

/** The public half of `privateKey`, which must equal `publicKey` when one was given too. */
export function matchingPublicKey(privateKey: KeyObject, publicKey: KeyObject | undefined): KeyObject {
  const derived = createPublicKey(privateKey);
  if (publicKey !== undefined && !derived.equals(publicKey)) {
    throw new InvalidKey('RSA-OAEP publicKey and privateKey do not belong to the same key pair');
  }
  return publicKey ?? derived;
}
