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

/** Key ids whose tag was computed lately: an L1 hit then costs no digest for its tag. */
const tags = new Map<string, string>();
const MAX_TAGS = 1024;

/** SHA-256 hex of a key id: an entry's invalidation tag, and the material entry's name. */
export function keyTag(keyId: string): string {
  let tag = tags.get(keyId);
  if (tag === undefined) {
    tag = createHash('sha256').update(keyId, 'utf8').digest('hex');
    // Key ids are few and not secret; an application cycling through more only recomputes.
    if (tags.size >= MAX_TAGS) tags.clear();
    tags.set(keyId, tag);
  }
  return tag;
}

/** The entry holding a material store's record of `keyId` (all its versions). */
export function materialEntryName(tag: string): string {
  return `m:{${tag}}`;
}

/** The counter every invalidation of the key counts up (generations.ts); not a sealed value. */
export function generationName(tag: string): string {
  return `g:{${tag}}`;
}

/**
 * The entry holding the unwrapped data key of `input`: a digest of key id,
 * version, wrapped key and the context's canonical bytes (core's encoding),
 * each length-prefixed so that no two inputs share a name. `tag` is the key
 * id's (the caller has it already).
 */
export function dataKeyEntryName(input: UnwrapKeyInput, tag: string = keyTag(input.keyId)): string {
  const keyId = Buffer.from(input.keyId, 'utf8');
  const context = canonicalContext(input.context);
  // One buffer, one digest update: this runs on every L1 hit.
  const bytes = Buffer.allocUnsafe(4 + keyId.length + 8 + 4 + input.ciphertext.length + 4 + context.length);
  let at = bytes.writeUInt32BE(keyId.length, 0);
  at += keyId.copy(bytes, at);
  at = bytes.writeBigUInt64BE(BigInt(input.version), at);
  at = bytes.writeUInt32BE(input.ciphertext.length, at);
  bytes.set(input.ciphertext, at);
  at += input.ciphertext.length;
  at = bytes.writeUInt32BE(context.length, at);
  bytes.set(context, at);
  return `d:{${tag}}:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Bytes as a string of one character each (latin1): part of an L1 key, never shown or sent anywhere. */
function asChars(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * The L1 key of `input`'s data key: the parts of its Redis name, length-
 * prefixed, in a plain string rather than a digest (an L1 hit then costs no
 * SHA-256). In process only: it holds the wrapped key and the context, which
 * the Redis name must not show.
 */
export function dataKeyLocalKey(input: UnwrapKeyInput): string {
  const { keyId, version, ciphertext } = input;
  // The context's canonical bytes are length-prefixed pairs and come last: the key reads back one way only.
  return `d:${version}:${keyId.length}:${keyId}${ciphertext.length}:${asChars(ciphertext)}${asChars(canonicalContext(input.context))}`;
}
