import { pbkdf2, scrypt } from 'node:crypto';
import { ConfigError, ProviderError } from '../../../errors/keystore-error.js';

/**
 * Password-based derivation of the keystore's master key: scrypt or
 * PBKDF2-HMAC-SHA256, at OWASP's current cost by default. The parameters
 * (and the salt) are stored in the file; opening uses the file's own.
 */

/** What a caller asks for when creating a keystore file; omitted costs take the defaults. */
export type KdfOptions =
  | { readonly name: 'scrypt'; readonly N?: number; readonly r?: number; readonly p?: number }
  | { readonly name: 'pbkdf2-sha256'; readonly iterations?: number };

/** Complete parameters, as stored in the file. */
export type KdfParams =
  | { readonly name: 'scrypt'; readonly N: number; readonly r: number; readonly p: number }
  | { readonly name: 'pbkdf2-sha256'; readonly iterations: number };

/** OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1. */
export const DEFAULT_SCRYPT = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** OWASP Password Storage Cheat Sheet: PBKDF2-HMAC-SHA256 with 600,000 iterations. */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;

/**
 * Lower bounds keep a test-grade cost from being absurd. Upper bounds keep a
 * hostile or edited KDF block from exhausting memory or time: a file's
 * parameters are checked against them when it is parsed, before any
 * derivation, and so are the options of a file being created. They admit
 * the defaults with headroom: scrypt memory twice the default's (128 MiB),
 * scrypt work (N * r * p) eight times the default's, PBKDF2 ten times the
 * default iterations.
 */
export const KDF_LIMITS = Object.freeze({
  scryptMinN: 2 ** 10,
  scryptMaxN: 2 ** 20,
  scryptMaxR: 32,
  scryptMaxP: 16,
  /** Bytes of scrypt's large array, 128 * N * r (N * r at most 2^21). */
  scryptMaxMemory: 256 * 2 ** 20,
  /** N * r * p, which the time scrypt takes is proportional to: 8x the default 2^17 * 8 * 1. */
  scryptMaxWork: 2 ** 23,
  pbkdf2MinIterations: 1_000,
  pbkdf2MaxIterations: 10 * DEFAULT_PBKDF2_ITERATIONS,
});

export const MASTER_KEY_LENGTH = 32;

function isInt(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** The bound passed to node:crypto, which must cover what OpenSSL allocates. */
function scryptMaxmem(N: number, r: number, p: number): number {
  // OpenSSL's accounting: V is 128 * r * (N + 2) bytes, B is 128 * r * p bytes.
  return 128 * r * (N + 2) + 128 * r * p;
}

/** Why `params` are unacceptable, or `undefined` when they are fine. Never echoes values. */
export function kdfParamsProblem(params: KdfParams): string | undefined {
  const L = KDF_LIMITS;
  if (params.name === 'scrypt') {
    const { N, r, p } = params;
    if (!isInt(N, L.scryptMinN, L.scryptMaxN) || (N & (N - 1)) !== 0) {
      return `scrypt N must be a power of two from 2^10 to 2^20`;
    }
    if (!isInt(r, 1, L.scryptMaxR)) return `scrypt r must be an integer from 1 to ${L.scryptMaxR}`;
    if (!isInt(p, 1, L.scryptMaxP)) return `scrypt p must be an integer from 1 to ${L.scryptMaxP}`;
    if (128 * N * r > L.scryptMaxMemory)
      return 'scrypt N * r needs more than 256 MiB of memory (128 * N * r bytes)';
    if (N * r * p > L.scryptMaxWork) return 'scrypt N * r * p is more than 2^23 (8 times the default cost)';
    return undefined;
  }
  if (params.name === 'pbkdf2-sha256') {
    if (!isInt(params.iterations, L.pbkdf2MinIterations, L.pbkdf2MaxIterations)) {
      return `pbkdf2-sha256 iterations must be an integer from ${L.pbkdf2MinIterations} to ${L.pbkdf2MaxIterations}`;
    }
    return undefined;
  }
  return "kdf name must be 'scrypt' or 'pbkdf2-sha256'";
}

/** Fills in defaults (scrypt at OWASP cost when nothing is given) and checks the bounds. @throws ConfigError */
export function resolveKdfOptions(options: KdfOptions | undefined, field = 'kdf'): KdfParams {
  const raw = options ?? { name: 'scrypt' };
  let params: KdfParams;
  if (raw.name === 'scrypt') {
    params = {
      name: 'scrypt',
      N: raw.N ?? DEFAULT_SCRYPT.N,
      r: raw.r ?? DEFAULT_SCRYPT.r,
      p: raw.p ?? DEFAULT_SCRYPT.p,
    };
  } else if (raw.name === 'pbkdf2-sha256') {
    params = { name: 'pbkdf2-sha256', iterations: raw.iterations ?? DEFAULT_PBKDF2_ITERATIONS };
  } else {
    throw new ConfigError(`${field}.name must be 'scrypt' or 'pbkdf2-sha256'`);
  }
  const problem = kdfParamsProblem(params);
  if (problem !== undefined) throw new ConfigError(`${field}: ${problem}`);
  return params;
}

/**
 * Derives the 32-byte master key, asynchronously (libuv's thread pool), so
 * the event loop keeps running during the deliberate slowness. The caller
 * zeroes the result when done with it.
 */
export function deriveMasterKey(secret: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, key: Buffer) => {
      // The library's message only: OpenSSL's text names parameters, never the secret, but keep it out anyway.
      if (error) reject(new ProviderError(`key derivation (${params.name}) failed`));
      else resolve(key);
    };
    if (params.name === 'scrypt') {
      const { N, r, p } = params;
      scrypt(secret, salt, MASTER_KEY_LENGTH, { N, r, p, maxmem: scryptMaxmem(N, r, p) + 2 ** 20 }, done);
    } else {
      pbkdf2(secret, salt, params.iterations, MASTER_KEY_LENGTH, 'sha256', done);
    }
  });
}
