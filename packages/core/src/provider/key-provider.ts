import type { EncryptionContext } from '../context/encryption-context.js';
import type { ProviderCapabilities } from './capabilities.js';
import type { Versioning } from './versioning.js';

/**
 * The provider contract. Adapters (memory, env, file, Vault, AWS KMS,
 * Blackbox, ...) implement it; the core never trusts an adapter blindly but
 * calls it through `guardProvider`, which checks what goes in and comes out.
 *
 * `specificationVersion` lets the contract evolve: the core refuses a
 * provider written against a version it does not know.
 */
export const SPECIFICATION_VERSION = 'v1' as const;
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

export {
  ALL_CAPABILITIES,
  CAPABILITY_METHODS,
  type Capability,
  type CapabilityMethod,
  capabilityMethods,
  type ProviderCapabilities,
} from './capabilities.js';
export {
  DEFAULT_VERSIONING,
  IN_PLACE_VERSION,
  isVersioning,
  VERSIONING_MODES,
  type Versioning,
} from './versioning.js';

/** A wrapped (encrypted) data key, and the master key version that wrapped it. */
export interface WrappedKey {
  readonly keyId: string;
  /** The master key version, from 1. */
  readonly version: number;
  readonly ciphertext: Uint8Array;
}

export interface WrapKeyInput {
  readonly keyId: string;
  /** The data key to wrap. */
  readonly plaintext: Uint8Array;
  /** Bound to the wrap: unwrapping needs the same context. */
  readonly context: EncryptionContext;
}

export interface UnwrapKeyInput {
  readonly keyId: string;
  readonly version: number;
  readonly ciphertext: Uint8Array;
  readonly context: EncryptionContext;
}

export interface GenerateDataKeyInput {
  readonly keyId: string;
  /** Bytes of the data key (32 for Fernet). */
  readonly length: number;
  readonly context: EncryptionContext;
  /**
   * The size in bytes of the data this key will encrypt, when the caller
   * knows it (`Keystore.encrypt` does): for a cache that reuses a data key
   * within a byte limit. A provider may ignore it.
   */
  readonly plaintextBytes?: number;
}

export interface DataKey {
  readonly plaintext: Uint8Array;
  readonly wrapped: WrappedKey;
}

export type KeyVersionState = 'enabled' | 'disabled';

export interface KeyVersionInfo {
  readonly version: number;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly state: KeyVersionState;
}

export interface KeyMetadata {
  readonly keyId: string;
  /** The version new encryptions use. */
  readonly latestVersion: number;
  /** ISO 8601, when known. */
  readonly createdAt?: string;
  readonly description?: string;
}

/** Key material of one version, from a provider that holds material. */
export interface KeyMaterial {
  readonly keyId: string;
  readonly version: number;
  /** 32 bytes. */
  readonly material: Uint8Array;
}

export interface CreateKeyOptions {
  readonly description?: string;
}

export interface DeleteKeyOptions {
  /**
   * Deleting a key makes every envelope it wrapped undecryptable. It is
   * never a side effect: the caller restates the key id here.
   */
  readonly confirm: string;
}

/**
 * Ownership of buffers: what a provider returns (a data key, key material)
 * becomes the caller's, and the core's guard zeroes it once it is used. A
 * provider that keeps a copy (a cache) returns a fresh copy each time; what
 * a caller passes in (`plaintext` to wrap) stays the caller's, and a
 * provider must not keep it.
 */
export interface KeyProvider {
  readonly specificationVersion: SpecificationVersion;
  /** The provider type as in configuration (`memory`, `file`, `vault`, ...). */
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  /**
   * How rotation treats versions (`versioning.ts`): `'numbered'` (the
   * default) adds a version per rotation; `'in-place'` replaces the material
   * behind one key id and every wrapped key keeps `IN_PLACE_VERSION`.
   */
  readonly versioning?: Versioning;

  wrapKey(input: WrapKeyInput): Promise<WrappedKey>;
  unwrapKey(input: UnwrapKeyInput): Promise<Uint8Array>;
  generateDataKey?(input: GenerateDataKeyInput): Promise<DataKey>;
  /** Moves a wrapped key to the newest version of its master key. */
  rewrapKey?(input: UnwrapKeyInput): Promise<WrappedKey>;
  /**
   * Batch forms (capability `batch`): one result per input, in order; a
   * failed item is an Error in its slot, the others still succeed.
   */
  unwrapKeys?(inputs: readonly UnwrapKeyInput[]): Promise<(Uint8Array | Error)[]>;
  rewrapKeys?(inputs: readonly UnwrapKeyInput[]): Promise<(WrappedKey | Error)[]>;

  /** Latest version when `version` is omitted. */
  getKey?(keyId: string, version?: number): Promise<KeyMaterial>;
  createKey?(keyId: string, options?: CreateKeyOptions): Promise<KeyMetadata>;
  /** Imports 32 bytes of material as a new key (version 1) or as a new version of an existing key. */
  importKey?(keyId: string, material: Uint8Array, options?: CreateKeyOptions): Promise<KeyMetadata>;
  listKeys?(): Promise<KeyMetadata[]>;
  listVersions?(keyId: string): Promise<KeyVersionInfo[]>;
  /**
   * New material for the key; what came before stays for decryption. Numbered:
   * a new version, which the answer's latestVersion names. In place: the same
   * key id and version (`IN_PLACE_VERSION`), new material behind them.
   */
  rotateKey?(keyId: string): Promise<KeyMetadata>;
  deleteKey?(keyId: string, options: DeleteKeyOptions): Promise<void>;

  /** Releases connections and caches. Idempotent. */
  close(): Promise<void>;
}
