import { keystoreConfigSchema, parseConfig } from '../config/config-schema.js';
import type { KeystoreConfig } from '../config/keystore-config.js';
import { type LoadConfigOptions, loadConfig } from '../config/load-config.js';
import { resolveSecret } from '../config/secret-ref.js';
import { ConfigError, isKeystoreError, KeystoreError } from '../errors/keystore-error.js';
import type { KeyProvider } from '../provider/key-provider.js';
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
  if (parsed.cache !== undefined) {
    throw new ConfigError(
      `cache.type: '${parsed.cache.type}' caching is not available yet (it comes with @keystore/redis)`,
    );
  }
  const timeout = parsed.timeoutMs === undefined ? {} : { timeoutMs: parsed.timeoutMs };
  if (parsed.recipients === undefined) {
    const block = parsed.provider as { type: string };
    const definition = await resolveProvider(block.type, options.providers);
    const provider = await definition.create(definition.parseConfig(block), context);
    return keystoreOrClose([provider], () => {
      return new Keystore({
        provider,
        ...(parsed.defaultKey === undefined ? {} : { defaultKey: parsed.defaultKey }),
        ...(parsed.allowedKeys === undefined ? {} : { allowedKeys: parsed.allowedKeys }),
        ...timeout,
      });
    });
  }
  // Every recipient's provider is checked before any is made; one that fails to start closes the others.
  const blocks = parsed.recipients;
  const definitions = await Promise.all(
    blocks.map((r, i) =>
      inRecipient(i, async () => {
        const definition = await resolveProvider(r.provider.type, options.providers);
        return { definition, config: definition.parseConfig(r.provider) };
      }),
    ),
  );
  const providers: KeyProvider[] = [];
  return keystoreOrClose(providers, async () => {
    for (const [i, { definition, config }] of definitions.entries()) {
      providers.push(await inRecipient(i, () => definition.create(config, context)));
    }
    return new Keystore({
      recipients: blocks.map((r, i) => ({
        name: r.name,
        provider: providers[i] as KeyProvider,
        key: r.key,
        ...(r.allowedKeys === undefined ? {} : { allowedKeys: r.allowedKeys }),
      })),
      ...(parsed.decryptOrder === undefined ? {} : { decryptOrder: parsed.decryptOrder }),
      ...timeout,
    });
  });
}

/** Runs a step for recipient `i`; a configuration error it raises names the recipient (`recipients.1: provider.region: ...`). */
async function inRecipient<T>(i: number, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isKeystoreError(error, 'ConfigError')) throw new ConfigError(`recipients.${i}: ${error.message}`);
    if (isKeystoreError(error)) {
      throw new KeystoreError(error.code, `recipients.${i}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Builds the keystore; if that fails, closes the providers made so far. A
 * Keystore's own checks (names, keys) say what is wrong as configuration.
 */
async function keystoreOrClose(
  providers: KeyProvider[],
  build: () => Keystore | Promise<Keystore>,
): Promise<Keystore> {
  try {
    return await build();
  } catch (error) {
    await Promise.allSettled(providers.map((p) => p.close()));
    if (isKeystoreError(error, 'InvalidArgument'))
      throw new ConfigError(error.message.replace(/^Keystore: /, ''));
    throw error;
  }
}
