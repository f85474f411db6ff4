import { readFileSync } from 'node:fs';
import { decodeBase64Url } from '../../encoding/base64url.js';
import { ConfigError } from '../../errors/keystore-error.js';
import {
  type MaterialStore,
  type StoredKey,
  type StoredVersion,
  zeroMaterial,
} from '../../provider/material-store.js';
import { parseDotenv } from './dotenv.js';

export interface EnvProviderOptions {
  /** Variable name prefix (default `KEYSTORE_KEY_`). */
  readonly prefix?: string;
  /** The environment to read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A `.env` file to read too; non-empty variables of the environment win over it. */
  readonly envFile?: string;
}

export const DEFAULT_ENV_PREFIX = 'KEYSTORE_KEY_';

/** Key ids the env provider can hold: lower-case words of letters and digits joined by `-`. */
const ENV_KEY_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const ENV_NAME = /^[A-Z0-9]+(?:_[A-Z0-9]+)*$/;
const VERSIONED = /^(.+)_V([1-9][0-9]{0,8})$/;
const TAGGED = /^v([1-9][0-9]{0,8}):(.+)$/;

/**
 * The variable-name part for a key id, one to one: upper case, `-` becomes
 * `_` (`app-data` <-> `APP_DATA`); `undefined` for ids the env provider
 * cannot hold (anything but lower-case letters, digits and single dashes).
 */
export function envNameOf(keyId: string): string | undefined {
  return ENV_KEY_ID.test(keyId) ? keyId.toUpperCase().replaceAll('-', '_') : undefined;
}

function keyIdOf(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

function decodeKey(value: string, variable: string): Uint8Array {
  const bytes = decodeBase64Url(value.trim());
  if (bytes === undefined || bytes.length !== 32) {
    bytes?.fill(0);
    throw new ConfigError(`${variable} must hold Fernet keys: 32 url-safe base64-encoded bytes each`);
  }
  const material = new Uint8Array(bytes);
  bytes.fill(0);
  return material;
}

/**
 * Fernet keys from environment variables, read once at start. For key id
 * `app-data` and the default prefix, either
 *
 * - `KEYSTORE_KEY_APP_DATA_V1`, `KEYSTORE_KEY_APP_DATA_V2`, ...: one variable
 *   per version; old versions may be removed (retired) without renumbering; or
 * - `KEYSTORE_KEY_APP_DATA=<key>`: one key, version 1; or
 * - `KEYSTORE_KEY_APP_DATA="<newest>,<older>,<oldest>"`: as Python's
 *   MultiFernet takes keys; the first is current (see `listedVersions`); or
 * - `KEYSTORE_KEY_APP_DATA="v3:<key>,v2:<key>"`: several versions in one
 *   variable, each tagged with its version.
 *
 * Envelopes name the version that wrapped them, so a version number must
 * keep meaning the same key. Using two forms for one key is a configuration
 * error. Read-only.
 */
export function createEnvStore(options: EnvProviderOptions = {}): MaterialStore {
  const prefix = options.prefix ?? DEFAULT_ENV_PREFIX;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix))
    throw new ConfigError('prefix must be a valid variable name prefix');
  const fromFile =
    options.envFile === undefined ? {} : parseDotenv(readEnvFile(options.envFile), options.envFile);
  const variables: Record<string, string> = { ...fromFile };
  for (const [name, value] of Object.entries(options.env ?? process.env)) {
    if (value !== undefined && value !== '') variables[name] = value;
  }
  const loadedAt = new Date().toISOString();
  const versionsByName = new Map<string, Map<number, StoredVersion>>();
  const formsByName = new Map<string, string>();

  function add(name: string, version: number, value: string, variable: string, form: string): void {
    const seen = formsByName.get(name);
    if (seen !== undefined && seen !== form) {
      throw new ConfigError(`${variable}: key ${name} is also defined by ${seen}; use one form per key`);
    }
    formsByName.set(name, form);
    const versions = versionsByName.get(name) ?? new Map<number, StoredVersion>();
    if (versions.has(version))
      throw new ConfigError(`${variable}: version ${version} of key ${name} is given twice`);
    versions.set(version, {
      version,
      createdAt: loadedAt,
      state: 'enabled',
      material: decodeKey(value, variable),
    });
    versionsByName.set(name, versions);
  }

  for (const [variable, value] of Object.entries(variables)) {
    if (!variable.startsWith(prefix)) continue;
    const rest = variable.slice(prefix.length);
    const versioned = VERSIONED.exec(rest);
    const name = versioned === null ? rest : (versioned[1] as string);
    if (!ENV_NAME.test(name)) {
      throw new ConfigError(
        `${variable}: after ${prefix} a key name is upper-case letters and digits joined by _`,
      );
    }
    if (versioned !== null) {
      add(name, Number(versioned[2]), value, variable, `${prefix}${name}_V<n>`);
      continue;
    }
    for (const [version, key] of listedVersions(value, variable)) add(name, version, key, variable, variable);
  }

  const keys = new Map<string, StoredKey>();
  for (const [name, versions] of versionsByName) {
    const sorted = [...versions.values()].sort((a, b) => a.version - b.version);
    keys.set(name, { keyId: keyIdOf(name), createdAt: loadedAt, versions: sorted });
  }

  return {
    type: 'env',
    writable: false,
    async load(keyId) {
      const name = envNameOf(keyId);
      return name === undefined ? undefined : keys.get(name);
    },
    async list() {
      return [...keys.values()];
    },
    async close() {
      zeroMaterial(keys.values());
      keys.clear();
    },
  };
}

/**
 * The `(version, key)` pairs of one variable's value. Untagged lists count
 * from the end: the oldest (last) key is version 1 and the newest (first) is
 * the highest, so putting a new key in front, as one rotates a MultiFernet,
 * keeps every existing version's number; a single key is version 1 as well.
 * Removing the oldest key from such a list would renumber the others, which
 * is why retiring a key means tagging the ones kept (`v3:<key>,v2:<key>`).
 */
function listedVersions(value: string, variable: string): Array<[number, string]> {
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) {
    throw new ConfigError(`${variable}: the list of keys has an empty entry`);
  }
  const tags = entries.map((entry) => TAGGED.exec(entry));
  if (tags.every((tag) => tag === null)) {
    return entries.map((entry, index) => [entries.length - index, entry]);
  }
  if (tags.some((tag) => tag === null)) {
    throw new ConfigError(
      `${variable}: tag every key with its version (v2:<key>,v1:<key>) or none ("newest,older"), not some`,
    );
  }
  return tags.map((tag) => [Number((tag as RegExpExecArray)[1]), (tag as RegExpExecArray)[2] as string]);
}

function readEnvFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`envFile ${path} cannot be read (${code ?? 'error'})`);
  }
}
