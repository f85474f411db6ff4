/**
 * Provider types, as in configuration (`file`, `vault`, `aws-kms`, ...) and
 * in every envelope's header: lower-case letters, digits and dashes, from a
 * letter, at most 32 characters. One pattern for the guard, the envelope
 * reader and the conformance suite.
 */
export const PROVIDER_TYPE_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export function isValidProviderType(type: unknown): type is string {
  return typeof type === 'string' && PROVIDER_TYPE_PATTERN.test(type);
}
