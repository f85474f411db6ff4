import { ConfigError } from '../errors/keystore-error.js';
import { envProviderDefinition } from '../providers/env/env-definition.js';
import { fileProviderDefinition } from '../providers/file/definition.js';
import { memoryProviderDefinition } from '../providers/memory/memory-definition.js';
import { defaultImporter, type Importer, importAdapterExport } from './adapter-import.js';
import type { ProviderDefinition } from './provider-definition.js';

/** Provider types built into @keystore/core. */
export const BUILTIN_PROVIDERS: Readonly<Record<string, ProviderDefinition<unknown>>> = {
  memory: memoryProviderDefinition as ProviderDefinition<unknown>,
  env: envProviderDefinition as ProviderDefinition<unknown>,
  file: fileProviderDefinition as ProviderDefinition<unknown>,
};

/** Provider types that live in adapter packages, resolved on demand. */
export const ADAPTER_PACKAGES: Readonly<Record<string, string>> = {
  vault: '@keystore/vault',
  'aws-kms': '@keystore/aws-kms',
  blackbox: '@keystore/blackbox',
};

export function knownProviderTypes(extra: Iterable<string> = []): string[] {
  return [...new Set([...Object.keys(BUILTIN_PROVIDERS), ...Object.keys(ADAPTER_PACKAGES), ...extra])];
}

/**
 * The definition for a provider `type`: a custom one given by the caller, a
 * built-in one, or the `keystoreProvider` export of its adapter package.
 */
export async function resolveProvider(
  type: string,
  custom: Readonly<Record<string, ProviderDefinition<unknown>>> = {},
  importer: Importer = defaultImporter,
): Promise<ProviderDefinition<unknown>> {
  // Own properties only: a type such as 'constructor' must not find Object.prototype's members.
  const own = Object.hasOwn(custom, type)
    ? custom[type]
    : Object.hasOwn(BUILTIN_PROVIDERS, type)
      ? BUILTIN_PROVIDERS[type]
      : undefined;
  if (own !== undefined) return own;
  const pkg = Object.hasOwn(ADAPTER_PACKAGES, type) ? ADAPTER_PACKAGES[type] : undefined;
  if (pkg === undefined) {
    throw new ConfigError(
      `provider.type: unknown provider type '${type}'; known types: ${knownProviderTypes(Object.keys(custom)).join(', ')}`,
    );
  }
  return (await importAdapterExport(
    pkg,
    'keystoreProvider',
    'provider.type',
    type,
    importer,
  )) as ProviderDefinition<unknown>;
}
