import type { KeyProvider, UnwrapKeyInput } from '../../src/provider/key-provider.js';
import { createMaterialProvider } from '../../src/provider/material-provider.js';
import { createMemoryStore } from '../../src/providers/memory/memory-store.js';

/** A memory provider that calls itself `type`, with `keys` created: stands for a second backend. */
export async function memoryOfType(type: string, keys: readonly string[]): Promise<KeyProvider> {
  const provider = createMaterialProvider(createMemoryStore(type));
  for (const keyId of keys) await provider.createKey?.(keyId);
  return provider;
}

/** What a provider was asked: unwrap calls (one per key) and batch calls (one per batch). */
export interface Calls {
  unwrap: string[];
  batches: number[];
  /** While set, every unwrap fails with this error (an outage, a disabled key). */
  failWith: Error | undefined;
}

/** `provider` with its unwrap calls counted, and failing on demand. */
export function watched(provider: KeyProvider): { provider: KeyProvider; calls: Calls } {
  const calls: Calls = { unwrap: [], batches: [], failWith: undefined };
  const unwrapKey = async (input: UnwrapKeyInput) => {
    calls.unwrap.push(`${input.keyId}@${input.version}`);
    if (calls.failWith !== undefined) throw calls.failWith;
    return provider.unwrapKey(input);
  };
  const wrapped: KeyProvider = {
    ...provider,
    unwrapKey,
    unwrapKeys: async (inputs: readonly UnwrapKeyInput[]) => {
      calls.batches.push(inputs.length);
      return Promise.all(inputs.map((i) => unwrapKey(i).catch((e: Error) => e)));
    },
    // Declaring batch asks for both forms; these providers have no server-side re-wrap, so this one is never called.
    rewrapKeys: async (inputs: readonly UnwrapKeyInput[]) => inputs.map(() => new Error('not used')),
    capabilities: { ...provider.capabilities, batch: true },
  };
  return { provider: wrapped, calls };
}
