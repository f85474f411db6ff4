import { keystoreConfigSchema, parseConfig } from '../config/config-schema.js';
import type { KeystoreConfig } from '../config/keystore-config.js';
import { type LoadConfigOptions, loadConfig } from '../config/load-config.js';
import { resolveSecret } from '../config/secret-ref.js';
import { ConfigError, isKeystoreError, KeystoreError } from '../errors/keystore-error.js';
import type { KeyProvider } from '../provider/key-provider.js';
import type { CacheDefinition } from '../registry/cache-definition.js';
import { resolveCache } from '../registry/cache-registry.js';
import { configDigest } from '../registry/config-digest.js';
import type { ProviderContext, ProviderDefinition } from '../registry/provider-definition.js';
import { resolveProvider } from '../registry/provider-registry.js';
import { checkOptions, isObject, isString, type OptionSpec } from '../util/check-options.js';
import { Keystore } from './keystore.js';

export interface CreateKeystoreOptions extends LoadConfigOptions {
  /** Provider types of your own, by type name. */
  readonly providers?: Readonly<Record<string, ProviderDefinition<unknown>>>;
  /** Cache types of your own, by type name (`@keystore/redis` brings `redis`). */
  readonly caches?: Readonly<Record<string, CacheDefinition<unknown>>>;
  /** Relative paths in the configuration resolve here (default: the config file's directory, or cwd). */
  readonly baseDir?: string;
}

const CREATE_KEYSTORE_OPTIONS: OptionSpec = {
  cwd: isString,
  env: isObject,
  path: isString,
  providers: isObject,
  caches: isObject,
  baseDir: isString,
};

/** The cache type's definition and its parsed block. */
async function cacheFor(
  block: { type: string },
  custom: CreateKeystoreOptions['caches'],
): Promise<{ definition: CacheDefinition<unknown>; config: unknown }> {
  const definition = await resolveCache(block.type, custom);
  return { definition, config: definition.parseConfig(block) };
}

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
  // The cache block is checked before any provider is made; its wrapper goes around each provider.
  const cache = parsed.cache === undefined ? undefined : await cacheFor(parsed.cache, options.caches);
  const cached = async (provider: KeyProvider, namespace: string): Promise<KeyProvider> => {
    if (cache === undefined) return provider;
    try {
      return await cache.definition.wrap(provider, cache.config, { ...context, namespace });
    } catch (error) {
      await provider.close();
      throw error;
    }
  };
  const timeout = parsed.timeoutMs === undefined ? {} : { timeoutMs: parsed.timeoutMs };
  if (parsed.recipients === undefined) {
    const block = parsed.provider as { type: string };
    const definition = await resolveProvider(block.type, options.providers);
    const config = definition.parseConfig(block);
    const provider = await cached(
      await definition.create(config, context),
      `${definition.type}-${configDigest(block)}`,
    );
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
      const recipient = blocks[i] as { name: string; provider: unknown };
      const name = `${recipient.name}-${configDigest(recipient.provider)}`;
      providers.push(
        await inRecipient(i, async () => cached(await definition.create(config, context), name)),
      );
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
