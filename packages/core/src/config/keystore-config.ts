import type { z } from 'zod';
import type { envProviderDefinition } from '../providers/env/env-definition.js';
import type { fileProviderDefinition } from '../providers/file/definition.js';
import type { memoryProviderDefinition } from '../providers/memory/memory-definition.js';
import type { ProviderOptionsOf } from '../registry/provider-definition.js';
import type { keystoreConfigSchema } from './config-schema.js';

/**
 * The options of each provider `type`, taken from the schemas that validate
 * them at run time, so the two cannot disagree. An adapter package adds its
 * type by declaration merging:
 *
 * ```ts
 * declare module '@keystore/core' {
 *   interface KeystoreProviderConfigs {
 *     vault: { address: string; token: SecretRef };
 *   }
 * }
 * ```
 */
export interface KeystoreProviderConfigs {
  file: ProviderOptionsOf<typeof fileProviderDefinition>;
  env: ProviderOptionsOf<typeof envProviderDefinition>;
  memory: ProviderOptionsOf<typeof memoryProviderDefinition>;
}

/** The options of each `cache` type; none is built in yet (a cache package adds its own, as above). */
// biome-ignore lint/suspicious/noEmptyInterface: declaration merging fills it
export interface KeystoreCacheConfigs {}

/** `{ type: K, ...options of K }` for every type K of `configs`. */
type Blocks<Configs> = {
  [K in keyof Configs & string]: { type: K } & Configs[K];
}[keyof Configs & string];

/** A `provider` block: its `type` and the options of that type. */
export type ProviderConfig = Blocks<KeystoreProviderConfigs>;

/** A `cache` block. */
export type CacheConfig = Blocks<KeystoreCacheConfigs>;

/**
 * The configuration `createKeystore` takes, checked by the compiler when it
 * is written in code: a misspelt field or a value of the wrong type does not
 * compile. Configuration read at run time (`JSON.parse`, a file) is checked by
 * the same schemas when `createKeystore` runs.
 */
export type KeystoreConfig = Omit<
  z.input<typeof keystoreConfigSchema>,
  'provider' | 'cache' | 'recipients' | 'decryptOrder' | 'defaultKey' | 'allowedKeys'
> & { cache?: CacheConfig } & (SingleProviderConfig | RecipientsConfig);

/** A keystore over one provider. */
export interface SingleProviderConfig {
  provider: ProviderConfig;
  /** The key `encrypt` uses when none is named. */
  defaultKey?: string;
  /** Keys this keystore may use besides `defaultKey`: ids, prefixes ending in `*`, or `'*'`. */
  allowedKeys?: string[] | '*';
  recipients?: never;
  decryptOrder?: never;
}

/** A keystore whose envelopes any one of several recipients opens. */
export interface RecipientsConfig {
  /** 1 to 16 recipients, in the order encryption wraps for them. */
  recipients: RecipientConfig[];
  /** The order decrypt tries them in, by name (default: as listed). */
  decryptOrder?: string[];
  provider?: never;
  defaultKey?: never;
  allowedKeys?: never;
}

/** One recipient: its name, its provider block, the key data keys are wrapped under, and more keys decrypt may use. */
export interface RecipientConfig {
  name: string;
  provider: ProviderConfig;
  key: string;
  allowedKeys?: string[] | '*';
}
