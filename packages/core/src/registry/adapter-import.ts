import { ConfigError } from '../errors/keystore-error.js';

export type Importer = (specifier: string) => Promise<unknown>;
export const defaultImporter: Importer = (specifier) => import(specifier);

/**
 * The named export of an adapter package, loaded on demand. `field` names
 * the configuration field in messages (`provider.type`, `cache.type`); a
 * package that is not installed says how to install it.
 */
export async function importAdapterExport(
  pkg: string,
  exportName: string,
  field: string,
  type: string,
  importer: Importer = defaultImporter,
): Promise<unknown> {
  let mod: unknown;
  try {
    mod = await importer(pkg);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing = (error as Error).message ?? '';
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && missing.includes(`'${pkg}'`)) {
      throw new ConfigError(
        `${field}: '${type}' needs the package ${pkg}, which is not installed; install it with \`npm install ${pkg}\` (or pnpm add / yarn add)`,
      );
    }
    throw new ConfigError(`${field}: the package ${pkg} failed to load (${code ?? 'error'})`);
  }
  const value = (mod as Record<string, unknown>)[exportName];
  if (value === undefined || (value as { type?: unknown }).type !== type) {
    throw new ConfigError(`${field}: ${pkg} does not export a ${exportName} for type '${type}'`);
  }
  return value;
}
