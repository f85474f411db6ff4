import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

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
