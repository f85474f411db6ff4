import type { KeyProvider } from './key-provider.js';

/**
 * What a provider may support, and the methods each capability promises: the
 * one table that `Capability`, `ProviderCapabilities`, `ALL_CAPABILITIES`, the
 * guard's construction check and the conformance suite's method lists derive
 * from. Every provider wraps and unwraps data keys; material stores also hand
 * out and manage key material. Callers (and the conformance suite) read the
 * declared capabilities instead of trying operations and catching.
 */
export const CAPABILITY_METHODS = {
  /** Generates a data key and its wrapped form in one call (else the core makes one and wraps it). */
  generateDataKey: ['generateDataKey'],
  /**
   * Re-wraps a wrapped key under the newest version on the backend, the data
   * key never leaving it (KMS ReEncrypt, Vault rewrap). Without it the core
   * unwraps, checks the payload and wraps again.
   */
  rewrapKey: ['rewrapKey'],
  /** Unwraps and re-wraps many keys per backend request (Vault `batch_input`). */
  batch: ['unwrapKeys', 'rewrapKeys'],
  /** Hands out key material. */
  getKey: ['getKey'],
  createKey: ['createKey'],
  importKey: ['importKey'],
  listKeys: ['listKeys'],
  listVersions: ['listVersions'],
  /**
   * New material for a key; what came before stays for decryption. How the
   * versions follow is the provider's `versioning` (`versioning.ts`): a new
   * version per rotation, or new material behind the same one.
   */
  rotateKey: ['rotateKey'],
  deleteKey: ['deleteKey'],
} as const satisfies Record<string, readonly (keyof KeyProvider)[]>;

export type Capability = keyof typeof CAPABILITY_METHODS;

/** The methods of `KeyProvider` that some capability promises. */
export type CapabilityMethod = (typeof CAPABILITY_METHODS)[Capability][number];

/** A provider's declaration: every capability, true or false. */
export type ProviderCapabilities = { readonly [C in Capability]: boolean };

export const ALL_CAPABILITIES: readonly Capability[] = Object.freeze(
  Object.keys(CAPABILITY_METHODS) as Capability[],
);

/** The methods a provider that declares `capability` must implement. */
export function capabilityMethods(capability: Capability): readonly CapabilityMethod[] {
  return CAPABILITY_METHODS[capability];
}
