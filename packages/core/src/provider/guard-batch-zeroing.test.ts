import { describe, expect, it, vi } from 'vitest';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { guardProvider } from './guard-provider.js';

/** The guard's own copies of the data keys it checked, to see whether they are zeroed. */
const copies = vi.hoisted(() => [] as Uint8Array[]);
vi.mock('./guard-checks.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./guard-checks.js')>();
  return {
    ...real,
    checkDataKeyOut: (...args: Parameters<typeof real.checkDataKeyOut>) => {
      const copy = real.checkDataKeyOut(...args);
      copies.push(copy);
      return copy;
    },
  };
});

describe('guardProvider batches', () => {
  it('zero the data keys of earlier batches when a later batch call fails', async () => {
    const base = await createMemoryProvider({ keys: ['k'] });
    let calls = 0;
    const g = guardProvider({
      ...base,
      capabilities: { ...base.capabilities, batch: true },
      unwrapKeys: async (inputs) => {
        if (++calls === 2) throw Object.assign(new Error('down'), { code: 'ECONNRESET' });
        return inputs.map(() => new Uint8Array(32).fill(5));
      },
      rewrapKeys: async () => [],
    });
    const input = { keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context: {} };
    // 300 items: a first batch of 250 that succeeds, then a second whose call fails.
    await expect(g.unwrapKeys(Array.from({ length: 300 }, () => input))).rejects.toMatchObject({
      code: 'ProviderUnavailable',
    });
    expect(copies).toHaveLength(250);
    expect(copies.every((key) => key.every((b) => b === 0))).toBe(true);
  });
});
