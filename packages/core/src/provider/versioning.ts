/**
 * How a provider's key versions behave when a key rotates: the part of the
 * contract that `rotateKey`, the envelope's version field and the conformance
 * suite's rotation tests follow. Declared as `KeyProvider.versioning`;
 * a provider that declares none is `'numbered'`, as every provider was before
 * the declaration existed.
 *
 * - `'numbered'`: each rotation adds a version, numbered 1, 2, 3, ... The
 *   envelope names the version that wrapped its data key, old versions stay
 *   listed and unwrap by their number, and `rotateKey` answers the new
 *   version (memory, file, env, Vault Transit and KV).
 * - `'in-place'`: a rotation replaces the material behind one key id and the
 *   backend finds the material of an old ciphertext by itself (AWS KMS). Every
 *   wrapped key carries the constant `IN_PLACE_VERSION`, `rotateKey` answers
 *   it as the latest version (it does not grow), and `rewrapKey` (the
 *   Keystore's `reencrypt`) moves a wrapped key to the newest material at that
 *   same version. Which material a ciphertext used is the backend's to know,
 *   not the envelope's.
 */
export const VERSIONING_MODES = ['numbered', 'in-place'] as const;

export type Versioning = (typeof VERSIONING_MODES)[number];

/** What a provider that declares no versioning gets. */
export const DEFAULT_VERSIONING: Versioning = 'numbered';

/** The version every wrapped key (and `latestVersion`) of an `'in-place'` provider has. */
export const IN_PLACE_VERSION = 1;

export function isVersioning(value: unknown): value is Versioning {
  return (VERSIONING_MODES as readonly unknown[]).includes(value);
}
