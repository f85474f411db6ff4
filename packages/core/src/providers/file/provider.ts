import type { KeyProvider } from '../../provider/key-provider.js';
import { createMaterialProvider } from '../../provider/material-provider.js';
import type { FileStoreOptions } from './store/options.js';
import { createFileStore } from './store/store.js';

export type FileProviderOptions = FileStoreOptions;

/**
 * The `file` provider: a local keystore file, like a Java keystore. Aliases
 * with versions, each version's material encrypted under a master key derived
 * from a password (scrypt or PBKDF2-HMAC-SHA256) or given as a key; written
 * atomically, mode 0600, safe against concurrent writers.
 */
export async function createFileProvider(options: FileProviderOptions): Promise<KeyProvider> {
  return createMaterialProvider(await createFileStore(options));
}
