import { normalizeContext } from '../context/encryption-context.js';
import { InvalidArgument, ProviderError } from '../errors/keystore-error.js';
import { capabilityMethods } from './capabilities.js';
import { checkKeyId } from './key-id.js';
import {
  type KeyMaterial,
  type KeyMetadata,
  type KeyProvider,
  type KeyVersionInfo,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type WrappedKey,
} from './key-provider.js';
import { isValidProviderType } from './provider-type.js';
import { DEFAULT_VERSIONING, IN_PLACE_VERSION, isVersioning, type Versioning } from './versioning.js';

/**
 * The guard's checks, each a labelled precondition (on what goes into an
 * adapter) or postcondition (on what comes out), as the AWS Encryption SDK's
 * keyring base class labels its own. The guard's tests are named after these
 * labels; a check's doc comment starts with its label.
 */
export const GUARD_CHECKS = {
  specification: 'construction: the provider speaks this specification version',
  providerType: 'construction: the provider type is lower-case letters, digits and dashes',
  declaredMethods: 'construction: every declared capability has the methods it promises',
  versioning: 'construction: versioning is numbered or in-place (numbered when not declared)',
  keyIdIn: 'pre: key ids are valid key ids',
  versionIn: 'pre: key versions are positive integers',
  dataKeyIn: 'pre: data keys to wrap are 16 to 64 bytes',
  wrappedIn: 'pre: wrapped keys to unwrap are non-empty bytes',
  materialIn: 'pre: imported key material is 32 bytes',
  wrappedOut: 'post: a wrapped key has a key id, a version and 1 to 65535 bytes',
  rewrappedOut: 'post: a re-wrap never moves to an older version',
  dataKeyOut: 'post: a data key has the requested size and is the caller’s own copy',
  materialOut: 'post: key material is 32 bytes of the requested key, with a version',
  metadataOut: 'post: key metadata names the requested key and its latest version',
  rotatedOut:
    'post: a rotation answers its new version (numbered: after the first; in place: the constant version)',
  inPlaceOut: 'post: an in-place provider wraps and re-wraps under its constant version only',
  listOut: 'post: a key list is key metadata',
  versionsOut: 'post: a version list has positive versions, dates and states',
  batchOut: 'post: a batch answers one result per input, failures in their slots',
  errors: 'errors: adapter errors become typed errors without cause or foreign message',
  deadline: 'deadline: a call that does not answer in time fails with ProviderUnavailable',
  unsupported: 'capability: an operation not declared fails with UnsupportedOperation',
  closed: 'close: refuses new calls, waits for calls in flight, is idempotent',
} as const;

export type GuardCheck = keyof typeof GUARD_CHECKS;

const MIN_DATA_KEY = 16;
const MAX_DATA_KEY = 64;
/** Wrapped keys travel in a u16-length envelope field. */
export const MAX_WRAPPED = 0xffff;
const MATERIAL_LENGTH = 32;

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

const isPositiveInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 1;

/** construction: the provider speaks this specification version (and is an object). */
export function checkSpecification(provider: KeyProvider): void {
  if (provider === null || typeof provider !== 'object') {
    throw new ProviderError('a provider must be an object');
  }
  if (provider.specificationVersion !== SPECIFICATION_VERSION) {
    throw new ProviderError(
      `provider '${String(provider.type)}' implements specification ${String(provider.specificationVersion)}; this core speaks ${SPECIFICATION_VERSION}`,
    );
  }
}

/** construction: the provider type is lower-case letters, digits and dashes. */
export function checkProviderType(type: unknown): string {
  if (!isValidProviderType(type)) {
    throw new ProviderError('a provider type must be lower-case letters, digits and dashes');
  }
  return type;
}

/** construction: every declared capability has the methods it promises. */
export function checkDeclaredMethods(
  provider: KeyProvider,
  type: string,
  capabilities: ProviderCapabilities,
): void {
  for (const [capability, declared] of Object.entries(capabilities) as [
    keyof ProviderCapabilities,
    boolean,
  ][]) {
    if (!declared) continue;
    for (const method of capabilityMethods(capability)) {
      if (typeof provider[method] !== 'function') {
        throw new ProviderError(`provider '${type}' declares ${capability} but does not implement ${method}`);
      }
    }
  }
}

/** construction: versioning is numbered or in-place (numbered when not declared). */
export function checkVersioning(type: string, versioning: unknown): Versioning {
  if (versioning === undefined) return DEFAULT_VERSIONING;
  if (!isVersioning(versioning)) {
    throw new ProviderError(
      `provider '${type}' declares a versioning that is neither 'numbered' nor 'in-place'`,
    );
  }
  return versioning;
}

/** pre: key ids are valid key ids. */
export function checkKeyIdIn(keyId: unknown): asserts keyId is string {
  checkKeyId(keyId);
}

/** pre: key versions are positive integers. */
export function checkVersionIn(version: unknown, what = 'key version'): asserts version is number {
  if (!isPositiveInteger(version)) throw new InvalidArgument(`${what} must be a positive integer`);
}

/** pre: data keys to wrap are 16 to 64 bytes (a length, or the bytes themselves). */
export function checkDataKeyIn(length: unknown): void {
  if (
    !Number.isSafeInteger(length) ||
    (length as number) < MIN_DATA_KEY ||
    (length as number) > MAX_DATA_KEY
  ) {
    throw new InvalidArgument(`data keys are ${MIN_DATA_KEY} to ${MAX_DATA_KEY} bytes`);
  }
}

/** pre: wrapped keys to unwrap are non-empty bytes (with a valid key id and version; the context normalized). */
export function checkWrappedIn(input: UnwrapKeyInput): UnwrapKeyInput {
  checkKeyIdIn(input.keyId);
  checkVersionIn(input.version);
  if (!isBytes(input.ciphertext) || input.ciphertext.length === 0) {
    throw new InvalidArgument('ciphertext must be bytes');
  }
  return { ...input, context: normalizeContext(input.context, { allowReserved: true }) };
}

/** pre: imported key material is 32 bytes. */
export function checkMaterialIn(material: unknown): asserts material is Uint8Array {
  if (!isBytes(material) || material.length !== MATERIAL_LENGTH) {
    throw new InvalidArgument(`key material must be ${MATERIAL_LENGTH} bytes`);
  }
}

/** post: a wrapped key has a key id, a version and 1 to 65535 bytes. */
export function checkWrappedOut(type: string, wrapped: unknown): WrappedKey {
  const w = wrapped as WrappedKey | undefined;
  if (
    typeof w !== 'object' ||
    w === null ||
    typeof w.keyId !== 'string' ||
    w.keyId.length === 0 ||
    !isPositiveInteger(w.version) ||
    !isBytes(w.ciphertext) ||
    w.ciphertext.length === 0 ||
    w.ciphertext.length > MAX_WRAPPED
  ) {
    throw new ProviderError(
      `the ${type} provider returned a malformed wrapped key (key id, version and 1 to ${MAX_WRAPPED} bytes of ciphertext are required)`,
    );
  }
  return { keyId: w.keyId, version: w.version, ciphertext: w.ciphertext };
}

/** post: a re-wrap never moves to an older version (and is a well-formed wrapped key). */
export function checkRewrappedOut(type: string, out: unknown, input: UnwrapKeyInput): WrappedKey {
  const wrapped = checkWrappedOut(type, out);
  if (wrapped.version < input.version) {
    throw new ProviderError(`the ${type} provider re-wrapped a key to an older version`);
  }
  return wrapped;
}

/** post: a data key has the requested size (16 to 64 bytes when none was requested) and is the caller's own copy. */
export function checkDataKeyOut(type: string, key: unknown, length?: number): Uint8Array {
  if (
    !isBytes(key) ||
    (length === undefined ? key.length < MIN_DATA_KEY || key.length > MAX_DATA_KEY : key.length !== length)
  ) {
    throw new ProviderError(`the ${type} provider returned a data key of the wrong size`);
  }
  return new Uint8Array(key);
}

/** post: key material is 32 bytes of the requested key, with a version. */
export function checkMaterialOut(type: string, keyId: string, out: unknown, version?: number): KeyMaterial {
  const m = out as KeyMaterial | undefined;
  if (
    !isBytes(m?.material) ||
    m.material.length !== MATERIAL_LENGTH ||
    !isPositiveInteger(m.version) ||
    (version !== undefined && m.version !== version)
  ) {
    throw new ProviderError(`the ${type} provider returned malformed key material`);
  }
  return { keyId, version: m.version, material: m.material };
}

function isMetadata(m: unknown): m is KeyMetadata {
  const k = m as KeyMetadata | undefined;
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof k.keyId === 'string' &&
    isPositiveInteger(k.latestVersion) &&
    (k.createdAt === undefined || typeof k.createdAt === 'string') &&
    (k.description === undefined || typeof k.description === 'string')
  );
}

/** post: key metadata names the requested key and its latest version. */
export function checkMetadataOut(type: string, keyId: string, out: unknown): KeyMetadata {
  if (!isMetadata(out) || out.keyId !== keyId) {
    throw new ProviderError(`the ${type} provider returned malformed key metadata`);
  }
  return out;
}

/**
 * post: a rotation answers its new version. Numbered: a rotation adds a
 * version to at least version 1, so it names version 2 or later (a provider
 * that answered the old version would have the Keystore report a rotation
 * that new envelopes do not show). In place: the constant version, which
 * every envelope of the key carries before and after.
 */
export function checkRotatedOut(
  type: string,
  keyId: string,
  out: unknown,
  versioning: Versioning,
): KeyMetadata {
  const meta = checkMetadataOut(type, keyId, out);
  const ok = versioning === 'in-place' ? meta.latestVersion === IN_PLACE_VERSION : meta.latestVersion >= 2;
  if (!ok) {
    throw new ProviderError(
      versioning === 'in-place'
        ? `the ${type} provider rotates in place but answered a latest version other than ${IN_PLACE_VERSION}`
        : `the ${type} provider answered a rotation without a new version`,
    );
  }
  return meta;
}

/** post: an in-place provider wraps and re-wraps under its constant version only (numbered: any version). */
export function checkInPlaceOut(type: string, wrapped: WrappedKey, versioning: Versioning): WrappedKey {
  if (versioning === 'in-place' && wrapped.version !== IN_PLACE_VERSION) {
    throw new ProviderError(
      `the ${type} provider rotates in place but wrapped a key under version ${wrapped.version}, not ${IN_PLACE_VERSION}`,
    );
  }
  return wrapped;
}

/** post: a key list is key metadata. */
export function checkListOut(type: string, out: unknown): KeyMetadata[] {
  if (!Array.isArray(out) || !out.every(isMetadata)) {
    throw new ProviderError(`the ${type} provider returned a malformed key list`);
  }
  return out;
}

/** post: a version list has positive versions, dates and states. */
export function checkVersionsOut(type: string, out: unknown): KeyVersionInfo[] {
  const ok = (v: KeyVersionInfo) =>
    typeof v === 'object' &&
    v !== null &&
    isPositiveInteger(v.version) &&
    typeof v.createdAt === 'string' &&
    (v.state === 'enabled' || v.state === 'disabled');
  if (!Array.isArray(out) || !out.every(ok)) {
    throw new ProviderError(`the ${type} provider returned a malformed version list`);
  }
  return out;
}

/** post: a batch answers one result per input (failures in their slots are checked by the caller). */
export function checkBatchOut(
  type: string,
  operation: string,
  answers: unknown,
  expected: number,
): unknown[] {
  if (!Array.isArray(answers) || answers.length !== expected) {
    throw new ProviderError(`the ${type} provider answered ${operation} with the wrong number of results`);
  }
  return answers;
}
