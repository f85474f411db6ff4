import { MATERIAL_LENGTH, type StoredKey, type StoredVersion } from '@keystore/core/provider';

/**
 * A material store's key record as bytes for the cache: a u32 length, a JSON
 * header (id, dates, description, each version's number and state), then each
 * version's 32 bytes of material. Material stays in bytes that can be zeroed,
 * never in a JSON string that cannot.
 */
export function encodeStoredKey(key: StoredKey): Uint8Array {
  const header = Buffer.from(
    JSON.stringify({
      keyId: key.keyId,
      createdAt: key.createdAt,
      description: key.description,
      versions: key.versions.map(({ version, createdAt, state }) => ({ version, createdAt, state })),
    }),
    'utf8',
  );
  const out = new Uint8Array(4 + header.length + key.versions.length * MATERIAL_LENGTH);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  let offset = 4 + header.length;
  for (const v of key.versions) {
    if (v.material.length !== MATERIAL_LENGTH) throw new RangeError('key material must be 32 bytes');
    out.set(v.material, offset);
    offset += MATERIAL_LENGTH;
  }
  return out;
}

interface Header {
  keyId: unknown;
  createdAt: unknown;
  description?: unknown;
  versions: unknown;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * The record of `keyId` with fresh material buffers, or `undefined` when the
 * bytes are not one (or are another key's): the caller drops the entry.
 */
export function decodeStoredKey(keyId: string, bytes: Uint8Array): StoredKey | undefined {
  if (bytes.length < 4) return undefined;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + headerLength > bytes.length) return undefined;
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(4, 4 + headerLength)).toString('utf8')) as Header;
  } catch {
    return undefined;
  }
  if (header === null || typeof header !== 'object') return undefined;
  if (header.keyId !== keyId || !isString(header.createdAt) || !Array.isArray(header.versions))
    return undefined;
  if (header.description !== undefined && !isString(header.description)) return undefined;
  const versions = header.versions as unknown[];
  if (versions.length === 0 || bytes.length !== 4 + headerLength + versions.length * MATERIAL_LENGTH) {
    return undefined;
  }
  const out: StoredVersion[] = [];
  let offset = 4 + headerLength;
  for (const v of versions) {
    const { version, createdAt, state } = (v ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(version) || (version as number) < 1 || !isString(createdAt)) return undefined;
    if (state !== 'enabled' && state !== 'disabled') return undefined;
    out.push({
      version: version as number,
      createdAt,
      state,
      material: bytes.slice(offset, offset + MATERIAL_LENGTH),
    });
    offset += MATERIAL_LENGTH;
  }
  return {
    keyId,
    createdAt: header.createdAt,
    ...(header.description === undefined ? {} : { description: header.description }),
    versions: out,
  };
}
