import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { ConfigError } from '../../../errors/keystore-error.js';
import { type KdfBlock, kdfParamsOf } from './document.js';
import { deriveMasterKey } from './kdf.js';

/**
 * The subkeys of an open keystore file, each HKDF-SHA256-derived from the
 * master key (password-derived or given) with the file's salt:
 *
 *   material key = HKDF(master, salt, "keystore-file/v1 material", 32)  AES-256-GCM of each key version
 *   mac key      = HKDF(master, salt, "keystore-file/v1 mac", 32)       HMAC-SHA256 over the whole file
 *   verifier     = HKDF(master, salt, "keystore-file/v1 verifier", 32)  stored in the file: tells a wrong password from corruption
 */
export interface FileKeys {
  readonly material: KeyObject;
  readonly mac: KeyObject;
  /** Not secret (it is stored in the file), but only the right master key reproduces it. */
  readonly verifier: Buffer;
}

const SUBKEY_LENGTH = 32;
const INFO = {
  material: 'keystore-file/v1 material',
  mac: 'keystore-file/v1 mac',
  verifier: 'keystore-file/v1 verifier',
} as const;

function expand(master: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, Buffer.from(info, 'utf8'), SUBKEY_LENGTH));
}

/** Derives the subkeys; the raw subkey bytes are zeroed once they live in KeyObjects. The caller zeroes `master`. */
export function deriveFileKeys(master: Uint8Array, salt: Uint8Array): FileKeys {
  const material = expand(master, salt, INFO.material);
  const mac = expand(master, salt, INFO.mac);
  try {
    return {
      material: createSecretKey(material),
      mac: createSecretKey(mac),
      verifier: expand(master, salt, INFO.verifier),
    };
  } finally {
    material.fill(0);
    mac.fill(0);
  }
}

/** The secret, copied into a buffer the store zeroes once the master key is derived. */
export interface FileSecret {
  readonly kind: 'password' | 'masterKey';
  readonly bytes: Buffer;
}

/**
 * The master key for `kdf` (derived from a password once, or the given key),
 * turned into the file's subkeys. @throws ConfigError when the secret is of
 * the other kind than the file's
 */
export async function fileKeysFor(path: string, secret: FileSecret, kdf: KdfBlock): Promise<FileKeys> {
  const params = kdfParamsOf(kdf);
  if (params === undefined && secret.kind === 'password') {
    throw new ConfigError(
      `keystore file ${path} is protected by a master key, not a password: give masterKey`,
    );
  }
  if (params !== undefined && secret.kind === 'masterKey') {
    throw new ConfigError(
      `keystore file ${path} is protected by a password (${params.name}), not a master key: give password`,
    );
  }
  const salt = Buffer.from(kdf.salt, 'base64url');
  const master =
    params === undefined ? Buffer.from(secret.bytes) : await deriveMasterKey(secret.bytes, salt, params);
  try {
    return deriveFileKeys(master, salt);
  } finally {
    master.fill(0);
  }
}
