import { keystoreConfigSchema, parseConfig } from '../config/config-schema.js';
import type { KeystoreConfig } from '../config/keystore-config.js';
import { type LoadConfigOptions, loadConfig } from '../config/load-config.js';
import { resolveSecret } from '../config/secret-ref.js';
import { ConfigError } from '../errors/keystore-error.js';
import type { ProviderContext, ProviderDefinition } from '../registry/provider-definition.js';
import { resolveProvider } from '../registry/provider-registry.js';
import { checkOptions, isObject, isString, type OptionSpec } from '../util/check-options.js';
import { Keystore } from './keystore.js';

export interface CreateKeystoreOptions extends LoadConfigOptions {
  /** Provider types of your own, by type name. */
  readonly providers?: Readonly<Record<string, ProviderDefinition<never>>>;
  /** Relative paths in the configuration resolve here (default: the config file's directory, or cwd). */
  readonly baseDir?: string;
}

const CREATE_KEYSTORE_OPTIONS: OptionSpec = {
  cwd: isString,
  env: isObject,
  path: isString,
  providers: isObject,
  baseDir: isString,
};

/**
 * Builds a `Keystore` from plain configuration. Without `config`, the
 * configuration is loaded from `KEYSTORE_CONFIG` or `keystore.config.json`.
 * Swapping providers is a configuration change, not a code change.
 */
export async function createKeystore(
  config?: KeystoreConfig,
  options: CreateKeystoreOptions = {},
): Promise<Keystore> {
  checkOptions('createKeystore', options, CREATE_KEYSTORE_OPTIONS);
  let raw: unknown = config;
  let baseDir = options.baseDir ?? options.cwd ?? process.cwd();
  if (raw === undefined) {
    const loaded = loadConfig(options);
    raw = loaded.config;
    baseDir = options.baseDir ?? loaded.baseDir;
  }
  const parsed = parseConfig(keystoreConfigSchema, raw, '');
  const env = options.env ?? process.env;
  const context: ProviderContext = {
    env,
    baseDir,
    resolveSecret: (ref, field) => resolveSecret(ref, field, { env, baseDir }),
  };
  const definition = await resolveProvider(parsed.provider.type, options.providers);
  const providerConfig = definition.parseConfig(parsed.provider);
  if (parsed.cache !== undefined) {
    throw new ConfigError(
      `cache.type: '${parsed.cache.type}' caching is not available yet (it comes with @keystore/redis)`,
    );
  }
  const provider = await definition.create(providerConfig, context);
  try {
    return new Keystore({
      provider,
      ...(parsed.defaultKey === undefined ? {} : { defaultKey: parsed.defaultKey }),
      ...(parsed.allowedKeys === undefined ? {} : { allowedKeys: parsed.allowedKeys }),
      ...(parsed.timeoutMs === undefined ? {} : { timeoutMs: parsed.timeoutMs }),
    });
  } catch (error) {
    await provider.close();
    throw error;
  }
}
