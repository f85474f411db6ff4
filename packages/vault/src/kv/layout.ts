import {
  ConfigError,
  Corrupted,
  MATERIAL_LENGTH,
  type StoredKey,
  type StoredVersion,
} from '@keystore/core/provider';
import { z } from 'zod';

/**
 * The documented layout of one key in KV v2 (README, "KV secret layout"):
 * the `data` of the secret at `<mount>/data/<pathPrefix><keyId>`, holding
 * every version of the key. One secret per key, so a rotation is one
 * check-and-set write of the whole key: two writers can never both add
 * "version N+1".
 *
 * Nothing read is trusted: a secret that does not parse in full is
 * `Corrupted` (naming the field, never its value), and no key is returned
 * from a partly valid secret.
 */
export const KV_FORMAT = 'keystore-vault-kv';
/** The layout version this package writes and reads. */
export const KV_FORMAT_VERSION = 1;

const MAX_DESCRIPTION_LENGTH = 4096;
/** 32 bytes in standard, padded base64: 43 characters and one `=`. */
const MATERIAL_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

const timestamp = z.iso.datetime({ offset: true });

const versionSchema = z
  .object({
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    createdAt: timestamp,
    state: z.enum(['enabled', 'disabled']),
    material: z.string().regex(MATERIAL_BASE64),
  })
  .strict();

export const kvSecretSchema = z
  .object({
    format: z.literal(KV_FORMAT),
    formatVersion: z.literal(KV_FORMAT_VERSION),
    keyId: z.string(),
    createdAt: timestamp,
    description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
    versions: z
      .array(versionSchema)
      .min(1)
      .refine((vs) => vs.every((v, i) => i === 0 || v.version > (vs[i - 1]?.version ?? 0)), {
        message: 'not in ascending order',
      }),
  })
  .strict();

export type KvSecret = z.infer<typeof kvSecretSchema>;

function corrupted(keyId: string, reason: string): Corrupted {
  return new Corrupted(`vault: the KV secret of key '${keyId}' is corrupted: ${reason}`);
}

/**
 * Decodes into memory of its own (not Node's shared Buffer pool, where a copy
 * of the material would outlive the key's zeroing), and only canonical text:
 * one string per material, so an edited character is never silently ignored.
 */
function decodeMaterial(text: string): Uint8Array | undefined {
  const bytes = Buffer.alloc(MATERIAL_LENGTH);
  const written = bytes.write(text, 'base64');
  if (written !== MATERIAL_LENGTH || bytes.toString('base64') !== text) {
    bytes.fill(0);
    return undefined;
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The key stored at `keyId`'s path, from the secret's `data`.
 * @throws Corrupted for anything but a whole, valid secret of this key; ConfigError for a newer layout
 */
export function parseKvSecret(keyId: string, data: unknown): StoredKey {
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const { format, formatVersion } = data as { format?: unknown; formatVersion?: unknown };
    if (
      format === KV_FORMAT &&
      typeof formatVersion === 'number' &&
      Number.isSafeInteger(formatVersion) &&
      formatVersion > KV_FORMAT_VERSION
    ) {
      throw new ConfigError(
        `vault: the KV secret of key '${keyId}' has layout version ${formatVersion}; this version of @keystore/vault reads version ${KV_FORMAT_VERSION}: upgrade it`,
      );
    }
  }
  const parsed = kvSecretSchema.safeParse(data);
  if (!parsed.success) {
    // Field names and indexes only: zod's messages are not passed on, they may quote a value.
    const where = parsed.error.issues[0]?.path.map(String).join('.') || 'the secret';
    throw corrupted(keyId, `${where} is not valid`);
  }
  const secret = parsed.data;
  // A secret copied to another key's path is not that key.
  if (secret.keyId !== keyId) throw corrupted(keyId, 'it names another key id');
  const versions: StoredVersion[] = [];
  for (const v of secret.versions) {
    const material = decodeMaterial(v.material);
    if (material === undefined) {
      for (const done of versions) done.material.fill(0);
      throw corrupted(keyId, `the material of version ${v.version} is not canonical base64 of 32 bytes`);
    }
    versions.push({ version: v.version, createdAt: v.createdAt, state: v.state, material });
  }
  return {
    keyId,
    createdAt: secret.createdAt,
    ...(secret.description === undefined ? {} : { description: secret.description }),
    versions,
  };
}

/** The secret's `data` for `key`, in the documented layout. */
export function serializeKvSecret(key: StoredKey): KvSecret {
  return {
    format: KV_FORMAT,
    formatVersion: KV_FORMAT_VERSION,
    keyId: key.keyId,
    createdAt: key.createdAt,
    ...(key.description === undefined ? {} : { description: key.description }),
    versions: key.versions.map((v) => ({
      version: v.version,
      createdAt: v.createdAt,
      state: v.state,
      // A view, not a copy: no copy of the material in Node's Buffer pool.
      material: Buffer.from(v.material.buffer, v.material.byteOffset, v.material.byteLength).toString(
        'base64',
      ),
    })),
  };
}
