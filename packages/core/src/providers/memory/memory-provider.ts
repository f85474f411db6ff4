import { checkKeyId } from '../../provider/key-id.js';
import type { KeyProvider } from '../../provider/key-provider.js';
import { createMaterialProvider } from '../../provider/material-provider.js';
import { createMemoryStore } from './memory-store.js';

export interface MemoryProviderOptions {
  /** Keys to create at start, by id. */
  readonly keys?: readonly string[];
}

/** The `memory` provider: keys live in this process only (tests, examples). */
export async function createMemoryProvider(options: MemoryProviderOptions = {}): Promise<KeyProvider> {
  const provider = createMaterialProvider(createMemoryStore());
  for (const keyId of options.keys ?? []) {
    checkKeyId(keyId);
    await provider.createKey?.(keyId);
  }
  return provider;
}
