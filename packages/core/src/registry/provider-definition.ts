import type { ResolveContext, SecretRef } from '../config/secret-ref.js';
import type { KeyProvider } from '../provider/key-provider.js';

/** What a provider factory gets besides its configuration. */
export interface ProviderContext extends ResolveContext {
  /** The value of a secret reference; `field` names it in errors. */
  resolveSecret(ref: SecretRef, field: string): string;
}

/**
 * How a provider type plugs into `createKeystore`: the built-in ones and each
 * adapter package (`@keystore/vault` exports one as `keystoreProvider`).
 */
export interface ProviderDefinition<C = unknown> {
  readonly type: string;
  /** Validates the `provider` block (with `type`); throws ConfigError naming the bad field. */
  parseConfig(config: unknown): C;
  create(config: C, context: ProviderContext): Promise<KeyProvider>;
}

/**
 * The options a definition's `parseConfig` returns, less `type`: the output
 * of its zod schema, the same as the schema's input while (as for the
 * built-in providers) the schema has no defaults or transforms.
 */
export type ProviderOptionsOf<D> = D extends ProviderDefinition<infer C> ? Omit<C, 'type'> : never;

/** Identity helper that gives adapters type inference, as unstorage's `defineDriver`. */
export function defineProvider<C>(definition: ProviderDefinition<C>): ProviderDefinition<C> {
  return definition;
}
