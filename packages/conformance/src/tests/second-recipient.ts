import {
  createMaterialProvider,
  createMemoryProvider,
  createMemoryStore,
  type KeyProvider,
} from '@keystore/core';

/** The provider type of the second recipient when the provider under test is `memory` itself. */
export const OTHER_MEMORY_TYPE = 'memory-b';

/**
 * A provider of another type than `underTest`, to be the second recipient
 * beside it: core's `memory` provider, or core's memory store under the type
 * `memory-b` when the provider under test is `memory` (a keystore's
 * recipients of one type and key id would be one recipient).
 */
export async function secondRecipientProvider(underTest: string): Promise<KeyProvider> {
  if (underTest !== 'memory') return createMemoryProvider();
  return createMaterialProvider(createMemoryStore(OTHER_MEMORY_TYPE));
}
