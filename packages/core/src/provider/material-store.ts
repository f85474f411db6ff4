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
