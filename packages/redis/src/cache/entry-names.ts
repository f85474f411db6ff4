import { createHash } from 'node:crypto';
import { canonicalContext, type UnwrapKeyInput } from '@keystore/core/provider';

/**
 * Names of cache entries (under the cache's `prefix + namespace + ':'`).
 * Each is made of SHA-256 digests, so a name reveals neither a key id nor a
 * wrapped key nor a context, and nothing of a key. Every name of one key
 * carries its tag as a Redis hash tag (`{tag}`): its entries and its
 * generation counter hash to one Cluster slot, so one MGET, DEL or script
 * may name them together.
 */

/** SHA-256 hex of a key id: an entry's invalidation tag, and the material entry's name. */
export function keyTag(keyId: string): string {
  return createHash('sha256').update(keyId, 'utf8').digest('hex');
}

/** The entry holding a material store's record of `keyId` (all its versions). */
export function materialEntryName(tag: string): string {
  return `m:{${tag}}`;
}

/** The counter every invalidation of the key counts up (generations.ts); not a sealed value. */
export function generationName(tag: string): string {
  return `g:{${tag}}`;
}

function lengthPrefixed(hash: ReturnType<typeof createHash>, bytes: Uint8Array): void {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  hash.update(length).update(bytes);
}

/**
 * The entry holding the unwrapped data key of `input`: a digest of key id,
 * version, wrapped key and the context's canonical bytes (core's encoding),
 * each length-prefixed so that no two inputs share a name.
 */
export function dataKeyEntryName(input: UnwrapKeyInput): string {
  const tag = keyTag(input.keyId);
  const hash = createHash('sha256');
  lengthPrefixed(hash, Buffer.from(input.keyId, 'utf8'));
  const version = Buffer.alloc(8);
  version.writeBigUInt64BE(BigInt(input.version));
  hash.update(version);
  lengthPrefixed(hash, input.ciphertext);
  lengthPrefixed(hash, canonicalContext(input.context));
  return `d:{${tag}}:${hash.digest('hex')}`;
}
