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

const input = { keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context: {} };
const zeroed = (keys: readonly Uint8Array[]) => keys.every((key) => key.every((b) => b === 0));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A guarded batch provider whose second batch call fails, and whose first answers data keys
 * of 5s either before that failure (`firstAnswers: 'before'`) or after it; `answered` holds the
 * keys it handed the guard.
 */
async function secondBatchFails(firstAnswers: 'before' | 'after') {
  const base = await createMemoryProvider({ keys: ['k'] });
  copies.length = 0;
  const answered: Uint8Array[] = [];
  let calls = 0;
  const guarded = guardProvider({
    ...base,
    capabilities: { ...base.capabilities, batch: true },
    unwrapKeys: async (inputs) => {
      if (++calls === 2) {
        if (firstAnswers === 'before') await sleep(20);
        throw Object.assign(new Error('down'), { code: 'ECONNRESET' });
      }
      if (firstAnswers === 'after') await sleep(20);
      const keys = inputs.map(() => new Uint8Array(32).fill(5));
      answered.push(...keys);
      return keys;
    },
    rewrapKeys: async () => [],
  });
  // 300 items: a first batch of 250, then a second whose call fails.
  await expect(guarded.unwrapKeys(Array.from({ length: 300 }, () => input))).rejects.toMatchObject({
    code: 'ProviderUnavailable',
  });
  return answered;
}

describe('guardProvider batches', () => {
  it('zero the data keys of earlier batches when a later batch call fails', async () => {
    const answered = await secondBatchFails('before');
    expect(answered).toHaveLength(250);
    expect(copies).toHaveLength(250);
    expect(zeroed(answered) && zeroed(copies)).toBe(true);
  });

  it('zero the answer of a batch that arrives after another batch failed', async () => {
    const answered = await secondBatchFails('after');
    await sleep(40);
    expect(answered).toHaveLength(250);
    expect(zeroed(answered)).toBe(true);
    expect(copies).toHaveLength(0);
  });

  it('send up to 4 batches at once and answer in input order, whichever batch answers first', async () => {
    const base = await createMemoryProvider({ keys: ['k'] });
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const g = guardProvider({
      ...base,
      capabilities: { ...base.capabilities, batch: true },
      unwrapKeys: async (inputs) => {
        const call = calls++;
        inFlight++;
        most = Math.max(most, inFlight);
        // Later batches answer sooner.
        await new Promise((resolve) => setTimeout(resolve, 5 * (8 - call)));
        inFlight--;
        return inputs.map((i) => new Uint8Array(32).fill(i.version % 256));
      },
      rewrapKeys: async () => [],
    });
    const inputs = Array.from({ length: 1500 }, (_, i) => ({ ...input, version: i + 1 }));
    const keys = await g.unwrapKeys(inputs);
    expect(calls).toBe(6);
    expect(most).toBe(4);
    expect(keys.map((k) => (k instanceof Error ? -1 : (k[0] as number)))).toEqual(
      inputs.map((i) => i.version % 256),
    );
  });
});
