import { generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InvalidArgument } from '../../errors/keystore-error.js';
import { checkOptions, isAny, type OptionSpec } from '../../util/check-options.js';
import {
  DEFAULT_MODULUS_BITS,
  isSupportedModulus,
  MAX_MODULUS_BITS,
  MIN_MODULUS_BITS,
} from './oaep-params.js';

export interface RsaKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export interface RsaKeyPairOptions {
  /** Modulus length in bits: 2048 (the default) to 4096, e.g. 3072 or 4096. */
  modulusLength?: number;
}

/** Public exponent of every generated key: F4, as OpenSSL, WebCrypto and every CA use. */
const PUBLIC_EXPONENT = 0x10001;

/** Its value is checked below, with the range in the message. */
const KEY_PAIR_OPTIONS: OptionSpec = { modulusLength: isAny };

function modulusOf(options: RsaKeyPairOptions | undefined, where: string): number {
  checkOptions(where, options, KEY_PAIR_OPTIONS);
  const bits = options?.modulusLength ?? DEFAULT_MODULUS_BITS;
  if (!isSupportedModulus(bits)) {
    throw new InvalidArgument(
      `modulusLength must be an integer from ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS} bits (e.g. 2048, 3072 or 4096)`,
    );
  }
  return bits;
}

/** A fresh RSA key pair, generated synchronously (4096 bits can take a second or more). */
export function generateRsaKeyPair(options?: RsaKeyPairOptions): RsaKeyPair {
  const modulusLength = modulusOf(options, 'RsaOaep.generateKeyPair');
  return generateKeyPairSync('rsa', { modulusLength, publicExponent: PUBLIC_EXPONENT });
}

/** A fresh RSA key pair, generated on libuv's thread pool without blocking the event loop. */
export function generateRsaKeyPairAsync(options?: RsaKeyPairOptions): Promise<RsaKeyPair> {
  let modulusLength: number;
  try {
    modulusLength = modulusOf(options, 'RsaOaep.generateKeyPairAsync');
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength, publicExponent: PUBLIC_EXPONENT },
      (error, publicKey, privateKey) => {
        if (error) reject(error);
        else resolve({ publicKey, privateKey });
      },
    );
  });
}
