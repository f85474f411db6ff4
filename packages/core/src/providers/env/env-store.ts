import { readFileSync } from 'node:fs';
import { decodeBase64Url } from '../../encoding/base64url.js';
import { ConfigError } from '../../errors/keystore-error.js';
import type { MaterialStore, StoredKey, StoredVersion } from '../../provider/material-store.js';
import { parseDotenv } from './dotenv.js';

export interface EnvProviderOptions {
  /** Variable name prefix (default `KEYSTORE_KEY_`). */
  readonly prefix?: string;
  /** The environment to read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A `.env` file to read too; variables of the environment win over it. */
  readonly envFile?: string;
}

export const DEFAULT_ENV_PREFIX = 'KEYSTORE_KEY_';

/**
 * The variable-name part for a key id: upper case, every character other
 * than A-Z and 0-9 becomes `_` (`app-data` -> `APP_DATA`).
 */
export function envNameOf(keyId: string): string {
  return keyId.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function decodeKey(value: string, variable: string): Uint8Array {
  const bytes = decodeBase64Url(value.trim());
  if (bytes === undefined || bytes.length !== 32) {
    throw new ConfigError(`${variable} must hold Fernet keys: 32 url-safe base64-encoded bytes each`);
  }
  return new Uint8Array(bytes);
}

/**
 * Fernet keys from environment variables, read once at start. For key id
 * `app-data` and the default prefix:
 *
 * - `KEYSTORE_KEY_APP_DATA_V1`, `KEYSTORE_KEY_APP_DATA_V2`, ...: one version each; or
 * - `KEYSTORE_KEY_APP_DATA="newest,older,oldest"`: a comma-separated list,
 *   newest first as Python's MultiFernet takes it (the last is version 1).
 *
 * Using both forms for one key is a configuration error. Read-only.
 */
export function createEnvStore(options: EnvProviderOptions = {}): MaterialStore {
  const prefix = options.prefix ?? DEFAULT_ENV_PREFIX;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix))
    throw new ConfigError('prefix must be a valid variable name prefix');
  const fromFile =
    options.envFile === undefined ? {} : parseDotenv(readEnvFile(options.envFile), options.envFile);
  const variables: Record<string, string | undefined> = { ...fromFile, ...(options.env ?? process.env) };
  const loadedAt = new Date().toISOString();
  const keys = new Map<string, StoredKey>();

  const versioned = new Map<string, Map<number, StoredVersion>>();
  const listed = new Map<string, string>();
  for (const [variable, value] of Object.entries(variables)) {
    if (!variable.startsWith(prefix) || value === undefined || value === '') continue;
    const rest = variable.slice(prefix.length);
    const match = /^(.+)_V([1-9][0-9]{0,8})$/.exec(rest);
    if (match !== null) {
      const name = match[1] as string;
      const version = Number(match[2]);
      const versions = versioned.get(name) ?? new Map<number, StoredVersion>();
      versions.set(version, {
        version,
        createdAt: loadedAt,
        state: 'enabled',
        material: decodeKey(value, variable),
      });
      versioned.set(name, versions);
    } else if (rest.length > 0) {
      listed.set(rest, variable);
    }
  }
  for (const [name, variable] of listed) {
    if (versioned.has(name)) {
      throw new ConfigError(`${variable} and ${prefix}${name}_V<n> both define key ${name}: use one form`);
    }
    const values = (variables[variable] as string).split(',').filter((v) => v.trim() !== '');
    const versions = values.reverse().map(
      (v, i): StoredVersion => ({
        version: i + 1,
        createdAt: loadedAt,
        state: 'enabled',
        material: decodeKey(v, variable),
      }),
    );
    keys.set(name, { keyId: name.toLowerCase(), createdAt: loadedAt, versions });
  }
  for (const [name, versions] of versioned) {
    const sorted = [...versions.values()].sort((a, b) => a.version - b.version);
    sorted.forEach((v, i) => {
      if (v.version !== i + 1) {
        throw new ConfigError(
          `${prefix}${name}_V${i + 1} is missing: versions must run 1, 2, 3, ... without gaps`,
        );
      }
    });
    keys.set(name, { keyId: name.toLowerCase(), createdAt: loadedAt, versions: sorted });
  }

  return {
    type: 'env',
    writable: false,
    async load(keyId) {
      const key = keys.get(envNameOf(keyId));
      return key === undefined ? undefined : { ...key, keyId };
    },
    async list() {
      return [...keys.values()];
    },
    async close() {
      keys.clear();
    },
  };
}

function readEnvFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`envFile ${path} cannot be read (${code ?? 'error'})`);
  }
}
