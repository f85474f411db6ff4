import { z } from 'zod';
import { parseConfig } from '../../../config/config-schema.js';
import { ConfigError } from '../../../errors/keystore-error.js';
import type { FileLockOptions } from '../disk/lock.js';
import { type KdfOptions, type KdfParams, MASTER_KEY_LENGTH, resolveKdfOptions } from '../format/kdf.js';
import type { FileSecret } from '../format/subkeys.js';

export interface FileStoreOptions {
  /** The keystore file. */
  readonly path: string;
  /** Derives the master key with the file's KDF. A string is normalized to Unicode NFC and UTF-8 encoded. Give this or `masterKey`. */
  readonly password?: string | Uint8Array;
  /** The master key itself, 32 bytes (no KDF). Give this or `password`. */
  readonly masterKey?: Uint8Array;
  /** Create the file if it does not exist (default false: a missing file is a ConfigError). */
  readonly create?: boolean;
  /** The KDF of a file this call creates (default scrypt at OWASP cost); an existing file's own parameters always win. */
  readonly kdf?: KdfOptions;
  /** Open a file that group or others can read or write (default false: refused with AccessDenied). */
  readonly allowInsecurePermissions?: boolean;
  /** Give up waiting for another process's write lock after this many ms (default 10,000), with ProviderUnavailable (not retried). */
  readonly lockTimeoutMs?: number;
  /** A lock file older than this many ms is stale and broken (default 60,000). */
  readonly staleLockMs?: number;
  /**
   * Refuse (`Corrupted`, rolled back) a file whose generation is lower, and do
   * not create a missing file: the generation this process knows the file has
   * reached (kept out of band), since a freshly started process has no memory
   * of it. Default 0.
   */
  readonly minGeneration?: number;
}

const kdfSchema = z.discriminatedUnion('name', [
  z
    .object({
      name: z.literal('scrypt'),
      N: z.number().int().positive().optional(),
      r: z.number().int().positive().optional(),
      p: z.number().int().positive().optional(),
    })
    .strict(),
  z.object({ name: z.literal('pbkdf2-sha256'), iterations: z.number().int().positive().optional() }).strict(),
]);

const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');

/**
 * The file store's options, shape and ranges, in one place: `createFileProvider`
 * checks its options with this schema, and the `file` configuration is this
 * schema with the secrets as references. What the schema cannot say (exactly
 * one secret, its length, the KDF's cost caps) `checkSecret` and
 * `resolveKdfOptions` check, with the caller's field names.
 */
export const fileOptionsSchema = z
  .object({
    path: z.string().min(1),
    password: z.union([z.string(), bytesSchema]).optional(),
    masterKey: bytesSchema.optional(),
    create: z.boolean().optional(),
    kdf: kdfSchema.optional(),
    allowInsecurePermissions: z.boolean().optional(),
    lockTimeoutMs: z.number().int().min(0).max(600_000).optional(),
    staleLockMs: z.number().int().min(1_000).max(86_400_000).optional(),
    minGeneration: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export interface CheckedFileOptions {
  readonly path: string;
  readonly secret: FileSecret;
  /** For a new file; only with a password. */
  readonly kdf: KdfParams | undefined;
  readonly create: boolean;
  readonly allowInsecurePermissions: boolean;
  readonly lock: FileLockOptions;
  readonly minGeneration: number;
}

/** The names a caller used for the secret's fields, for error messages. */
export interface SecretFieldNames {
  readonly password: string;
  readonly masterKey: string;
  readonly kdf: string;
  /** The message when neither is given. */
  readonly missing: string;
}

const OPEN_FIELDS: SecretFieldNames = {
  password: 'password',
  masterKey: 'masterKey',
  kdf: 'kdf',
  missing: 'the file provider needs a password or a masterKey',
};

interface SecretOptions {
  readonly password?: string | Uint8Array | undefined;
  readonly masterKey?: Uint8Array | undefined;
  readonly kdf?: KdfOptions | undefined;
}

function secretOf(options: SecretOptions, names: SecretFieldNames): FileSecret {
  const { password, masterKey } = options;
  if (password !== undefined && masterKey !== undefined) {
    throw new ConfigError(`give exactly one of ${names.password} and ${names.masterKey}, not both`);
  }
  if (masterKey !== undefined) {
    if (!(masterKey instanceof Uint8Array) || masterKey.length !== MASTER_KEY_LENGTH) {
      throw new ConfigError(`${names.masterKey} must be ${MASTER_KEY_LENGTH} bytes`);
    }
    if (options.kdf !== undefined) {
      throw new ConfigError(`${names.kdf} applies to a password, not to a master key`);
    }
    return { kind: 'masterKey', bytes: Buffer.from(masterKey) };
  }
  if (typeof password === 'string') {
    if (password.length === 0) throw new ConfigError(`${names.password} must not be empty`);
    return { kind: 'password', bytes: Buffer.from(password.normalize('NFC'), 'utf8') };
  }
  if (password instanceof Uint8Array) {
    if (password.length === 0) throw new ConfigError(`${names.password} must not be empty`);
    return { kind: 'password', bytes: Buffer.from(password) };
  }
  if (password !== undefined) throw new ConfigError(`${names.password} must be a string or a Uint8Array`);
  throw new ConfigError(names.missing);
}

/**
 * A secret and, for a password, the KDF parameters of a file it protects
 * from now on. The caller zeroes `secret.bytes`. @throws ConfigError
 */
export function checkSecret(
  options: SecretOptions,
  names: SecretFieldNames,
): { secret: FileSecret; kdf: KdfParams | undefined } {
  const secret = secretOf(options, names);
  try {
    return {
      secret,
      kdf: secret.kind === 'password' ? resolveKdfOptions(options.kdf, names.kdf) : undefined,
    };
  } catch (error) {
    secret.bytes.fill(0);
    throw error;
  }
}

/** Validates the options; messages name the field, never a secret. @throws ConfigError */
export function checkFileOptions(
  options: FileStoreOptions,
  names: SecretFieldNames = OPEN_FIELDS,
): CheckedFileOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('file provider options are required');
  const {
    create = false,
    allowInsecurePermissions = false,
    minGeneration = 0,
    ...parsed
  } = parseConfig(fileOptionsSchema, options, '');
  const timeoutMs = parsed.lockTimeoutMs;
  const staleMs = parsed.staleLockMs;
  const { secret, kdf } = checkSecret(options, names);
  return {
    path: parsed.path,
    secret,
    kdf,
    create,
    allowInsecurePermissions,
    minGeneration,
    lock: {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(staleMs === undefined ? {} : { staleMs }),
    },
  };
}

/** The interface documents each option, the schema checks them: a compile error when they drift apart. */
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: SameShape<Required<FileStoreOptions>, Required<z.output<typeof fileOptionsSchema>>> = true;
void sameShape;
