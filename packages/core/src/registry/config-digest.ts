import { createHash } from 'node:crypto';

/**
 * A short digest of a provider's configuration block (as written: secret
 * references, not the secrets they name), keys in sorted order, so the same
 * block always gives the same digest. A shared cache keeps the entries of
 * two providers of one type apart by it: two services whose keystore files
 * (or Vault mounts, or KMS regions) differ never read each other's keys,
 * even under one Redis and one cache key.
 *
 * An inline secret (`{ "value": ... }`) is left out: the digest is in every
 * cache key name, and 64 bits of an unsalted hash of a block whose other
 * fields are known would let anyone who can list the cache's keys guess a
 * weak inline password offline. What the secret unlocks is the same backend
 * whatever its value, so entries are rightly shared.
 */
export function configDigest(block: unknown): string {
  return createHash('sha256').update(stableJson(block)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    if (isInlineSecret(value)) return '{"value":"(inline secret)"}';
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isInlineSecret(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'value' && typeof (value as { value: unknown }).value === 'string';
}
