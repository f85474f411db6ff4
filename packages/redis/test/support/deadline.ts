import {
  ALL_CAPABILITIES,
  guardProvider,
  type KeyProvider,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
} from '@keystore/core/provider';

/**
 * Runs `fn` as the body of a guarded provider call of `timeoutMs`: inside
 * it, core's `callTimeLeftMs()` sees that call's deadline, as a cache's
 * commands will when the cache wraps a provider.
 */
export async function inCallOf<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  const probe: KeyProvider = {
    specificationVersion: SPECIFICATION_VERSION,
    type: 'deadline-probe',
    capabilities: Object.fromEntries(ALL_CAPABILITIES.map((c) => [c, false])) as ProviderCapabilities,
    async wrapKey() {
      throw new Error('not used');
    },
    async unwrapKey() {
      result = await fn();
      return new Uint8Array(32);
    },
    async close() {},
  };
  const guarded = guardProvider(probe, { timeoutMs });
  await guarded.unwrapKey({ keyId: 'k', version: 1, ciphertext: new Uint8Array(16), context: {} });
  return result as T;
}
