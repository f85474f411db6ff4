import type { KeyProvider } from '../../provider/key-provider.js';
import { createMaterialProvider } from '../../provider/material-provider.js';
import { createEnvStore, type EnvProviderOptions } from './env-store.js';

/** The `env` provider: read-only Fernet keys from environment variables and a `.env` file. */
export async function createEnvProvider(options: EnvProviderOptions = {}): Promise<KeyProvider> {
  return createMaterialProvider(createEnvStore(options));
}
