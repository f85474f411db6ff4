import {
  canonicalContext,
  type EncryptionContext,
  InvalidArgument,
  InvalidToken,
  type KeyVersionInfo,
  ProviderError,
  type UnwrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import { z } from 'zod';

/** What goes over the wire to Transit and comes back: the ciphertext format, the context, the answers' shapes. */

/** Vault's ciphertext: `vault:v<version>:<base64>`. */
export const CIPHERTEXT = /^vault:v([1-9][0-9]{0,9}):[A-Za-z0-9+/]+={0,2}$/;

/**
 * The context binding. Transit's `associated_data` is ignored by `rewrap`
 * (measured on OpenBao 2.7.2), so an envelope bound that way could not be
 * rewrapped after a rotation; the `context` of a derived key is honoured by
 * encrypt, decrypt, datakey and rewrap alike. The derivation context is this
 * tag followed by core's canonical context bytes: the tag keeps it non-empty
 * (Vault refuses an empty context for a derived key) and says what it is.
 */
const CONTEXT_TAG = Buffer.from('keystore-context-v1\n', 'utf8');

export function derivationContext(context: EncryptionContext): string {
  return Buffer.concat([CONTEXT_TAG, canonicalContext(context)]).toString('base64');
}

const dataSchema = <T extends z.ZodType>(data: T) => z.object({ data });

export const ciphertextResponse = dataSchema(z.object({ ciphertext: z.string() }));
export const plaintextResponse = dataSchema(z.object({ plaintext: z.string() }));
export const dataKeyResponse = dataSchema(z.object({ ciphertext: z.string(), plaintext: z.string() }));
export const keyResponse = dataSchema(
  z.object({
    name: z.string(),
    // Version -> creation time: Unix seconds for symmetric keys, RFC 3339 for some others.
    keys: z.record(z.string().regex(/^[1-9][0-9]*$/), z.union([z.number(), z.string()])),
    latest_version: z.number().int().positive(),
    min_decryption_version: z.number().int().nonnegative(),
    /** Versions below it were trimmed (deleted): absent, not disabled. */
    min_available_version: z.number().int().nonnegative().optional(),
  }),
);
type TransitKey = z.infer<typeof keyResponse>['data'];
export const listResponse = dataSchema(z.object({ keys: z.array(z.string()) }));

/** A response of the shape we expect, or ProviderError (no part of the body in the message). */
export function expect<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProviderError(`vault: unexpected response to ${what}`);
  return parsed.data;
}

export function decodeBase64(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ProviderError(`vault: ${what} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** The envelope's wrapped key: the UTF-8 bytes of Vault's ciphertext string. */
export function toWrapped(keyId: string, ciphertext: string): WrappedKey {
  const match = CIPHERTEXT.exec(ciphertext);
  if (match === null) throw new ProviderError('vault: the ciphertext Vault returned is not in its format');
  return { keyId, version: Number(match[1]), ciphertext: new Uint8Array(Buffer.from(ciphertext, 'utf8')) };
}

/**
 * Vault's ciphertext string from a wrapped key. One in Vault's format must
 * name the version the envelope names; anything else goes to Vault as it is,
 * which refuses it (InvalidToken), so that an unreachable Vault still says
 * ProviderUnavailable. The key is always the envelope's, never the text's.
 */
export function fromWrapped(input: UnwrapKeyInput): string {
  const text = Buffer.from(input.ciphertext).toString('utf8');
  const match = CIPHERTEXT.exec(text);
  if (match !== null && Number(match[1]) !== input.version) throw new InvalidToken();
  return text;
}

export function isoTime(value: number | string): string {
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

export function dataKeyBits(length: number): number {
  if (length === 16 || length === 32 || length === 64) return length * 8;
  throw new InvalidArgument('vault: Transit makes data keys of 16, 32 or 64 bytes');
}

/**
 * Vault's read of a key leaves out the versions below min_decryption_version
 * (measured on OpenBao 2.7.2: `keys` lists only 2 and 3 after retiring 1), so
 * they are listed from the version numbers; their creation time is not told
 * and is reported as the Unix epoch.
 */
const UNKNOWN_TIME = new Date(0).toISOString();

export function versionsOf(key: TransitKey): KeyVersionInfo[] {
  const versions: KeyVersionInfo[] = [];
  for (let version = Math.max(1, key.min_available_version ?? 0); version <= key.latest_version; version++) {
    const created = key.keys[String(version)];
    versions.push({
      version,
      createdAt: created === undefined ? UNKNOWN_TIME : isoTime(created),
      state: version < key.min_decryption_version ? 'disabled' : 'enabled',
    });
  }
  return versions;
}
