import { ConfigError } from '../errors/keystore-error.js';
import { envProviderDefinition } from '../providers/env/env-definition.js';
import { fileProviderDefinition } from '../providers/file/definition.js';
import { memoryProviderDefinition } from '../providers/memory/memory-definition.js';
import type { ProviderDefinition } from './provider-definition.js';

/** Provider types built into @keystore/core. */
export const BUILTIN_PROVIDERS: Readonly<Record<string, ProviderDefinition<never>>> = {
  memory: memoryProviderDefinition as ProviderDefinition<never>,
  env: envProviderDefinition as ProviderDefinition<never>,
  file: fileProviderDefinition as ProviderDefinition<never>,
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

type Importer = (specifier: string) => Promise<unknown>;
const defaultImporter: Importer = (specifier) => import(specifier);

/**
 * The definition for a provider `type`: a custom one given by the caller, a
 * built-in one, or the `keystoreProvider` export of its adapter package.
 */
export async function resolveProvider(
  type: string,
  custom: Readonly<Record<string, ProviderDefinition<never>>> = {},
  importer: Importer = defaultImporter,
): Promise<ProviderDefinition<never>> {
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
  let mod: unknown;
  try {
    mod = await importer(pkg);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing = (error as Error).message ?? '';
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && missing.includes(`'${pkg}'`)) {
      throw new ConfigError(
        `provider.type: '${type}' needs the package ${pkg}, which is not installed; install it with \`npm install ${pkg}\` (or pnpm add / yarn add)`,
      );
    }
    throw new ConfigError(`provider.type: the package ${pkg} failed to load (${code ?? 'error'})`);
  }
  const definition = (mod as { keystoreProvider?: ProviderDefinition<never> }).keystoreProvider;
  if (definition === undefined || definition.type !== type) {
    throw new ConfigError(`provider.type: ${pkg} does not export a keystoreProvider for type '${type}'`);
  }
  return definition;
}
