import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors/keystore-error.js';
import { parseJsonc } from './parse-jsonc.js';

export const CONFIG_FILE_NAME = 'keystore.config.json';
export const CONFIG_ENV_VARIABLE = 'KEYSTORE_CONFIG';

export interface LoadConfigOptions {
  /** Where to look for keystore.config.json (default: the current directory). */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** An explicit configuration file, as the CLI's --config gives. */
  readonly path?: string;
}

export interface LoadedConfig {
  readonly config: unknown;
  /** Where it came from, for messages: a path or the variable's name. */
  readonly source: string;
  /** Relative paths in the configuration resolve against this directory. */
  readonly baseDir: string;
}

/**
 * Finds the configuration: an explicit path; else `KEYSTORE_CONFIG` (inline
 * JSON, or a path to a JSON file); else `keystore.config.json` in `cwd`.
 * Comments and trailing commas are allowed (see `parseJsonc`).
 * Moving from the local file to Vault in production is a change of this.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  if (options.path !== undefined)
    return readJsonFile(isAbsolute(options.path) ? options.path : resolve(cwd, options.path));
  const fromEnv = env[CONFIG_ENV_VARIABLE]?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.startsWith('{'))
      return { config: parseJsonc(fromEnv, CONFIG_ENV_VARIABLE), source: CONFIG_ENV_VARIABLE, baseDir: cwd };
    return readJsonFile(isAbsolute(fromEnv) ? fromEnv : resolve(cwd, fromEnv));
  }
  const file = resolve(cwd, CONFIG_FILE_NAME);
  if (existsSync(file)) return readJsonFile(file);
  throw new ConfigError(
    `no configuration: pass one to createKeystore(), set ${CONFIG_ENV_VARIABLE} (JSON or a path), or create ${CONFIG_FILE_NAME} in ${cwd}`,
  );
}

function readJsonFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `configuration file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return { config: parseJsonc(text, path), source: path, baseDir: dirname(path) };
}
