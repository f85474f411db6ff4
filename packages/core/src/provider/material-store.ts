import { Conflict, KeyExists } from '../errors/keystore-error.js';
import type { KeyVersionState } from './key-provider.js';

/**
 * The few hooks a store of key material implements (memory, env, file, and
 * later Vault KV or Blackbox): loading and saving key records. Everything
 * else (wrapping, rotation, data keys) is built on them once, by
 * `createMaterialProvider`.
 */
export interface StoredVersion {
  readonly version: number;
  readonly createdAt: string;
  readonly state: KeyVersionState;
  /** 32 bytes. */
  readonly material: Uint8Array;
}

export interface StoredKey {
  readonly keyId: string;
  readonly createdAt: string;
  readonly description?: string;
  /** Ascending by version; never empty. */
  readonly versions: readonly StoredVersion[];
}

export interface MaterialStore {
  /** Provider type, as in configuration. */
  readonly type: string;
  /** Read-only stores (env) offer no writes. */
  readonly writable: boolean;
  /** The key with all its versions, or `undefined`. */
  load(keyId: string): Promise<StoredKey | undefined>;
  list(): Promise<StoredKey[]>;
  /**
   * Writes `key` if the stored latest version is still `expectedLatest`
   * (0 for a key that must not exist yet); else throws `Conflict` (or
   * `KeyExists` when creating). Writable stores only.
   */
  save?(key: StoredKey, expectedLatest: number): Promise<void>;
  /** Removes the key and all its versions. Writable stores only. */
  remove?(keyId: string): Promise<void>;
  close(): Promise<void>;
}

/** The latest version of a stored key; 0 for a key that does not exist. */
export function latestVersionOf(key: StoredKey | undefined): number {
  return key === undefined ? 0 : (key.versions[key.versions.length - 1]?.version ?? 0);
}

/**
 * The check-and-set rule of `MaterialStore.save`: `KeyExists` when creating
 * (`expectedLatest` 0) a key that is there, `Conflict` when the stored
 * latest version is not the one the writer started from.
 */
export function checkExpectedLatest(
  keyId: string,
  current: StoredKey | undefined,
  expectedLatest: number,
): void {
  if (expectedLatest === 0 && current !== undefined) throw new KeyExists(`key '${keyId}' already exists`);
  if (latestVersionOf(current) !== expectedLatest) {
    throw new Conflict(`key '${keyId}' was changed concurrently; retry`);
  }
}

/** Zeroes the material of every version of `keys` (a store's close, a dropped snapshot). */
export function zeroMaterial(keys: Iterable<StoredKey>): void {
  for (const key of keys) for (const v of key.versions) v.material.fill(0);
}
