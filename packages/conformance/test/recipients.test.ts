import { randomBytes } from 'node:crypto';
import { createMemoryProvider, type KeyProvider, type UnwrapKeyInput } from '@keystore/core';
import { describe, expect, it } from 'vitest';
import { type ConformanceReport, runConformance } from '../src/index.js';

/*
 * The recipients group against memory providers broken on purpose, one way
 * each: every test of the group must be able to catch a provider that does
 * not hold up as one recipient among several.
 */

const statusOf = (report: ConformanceReport) =>
  Object.fromEntries(report.results.map((r) => [r.name, r.status]));

async function recipientsGroup(broken: (inner: KeyProvider) => KeyProvider): Promise<ConformanceReport> {
  return runConformance({
    factory: async () => ({ provider: broken(await createMemoryProvider()) }),
    filter: (test) => test.group === 'recipients',
  });
}

const TWO = 'an envelope of two recipients opens with either, whichever made the data key';
const ADD_REMOVE = "adding and removing a recipient keeps the payload and the provider's wrapped key";
const FALLBACK = "decrypt falls back past the provider's failing recipient, and names each recipient's error";
const REENCRYPT = "reencrypt after a rotation moves only the provider's recipient";
const MANY = 'decryptMany opens 20 envelopes of two recipients';

describe('the recipients group catches', () => {
  it('nothing in a sound provider: all five pass', async () => {
    const report = await recipientsGroup((p) => p);
    expect(statusOf(report)).toEqual({
      [TWO]: 'passed',
      [ADD_REMOVE]: 'passed',
      [FALLBACK]: 'passed',
      [REENCRYPT]: 'passed',
      [MANY]: 'passed',
    });
  });

  it('a provider that wraps a key of its own instead of the data key it is given', async () => {
    // Its own envelopes still work (generateDataKey is consistent); as a second recipient it is not.
    const report = await recipientsGroup((inner) => ({
      ...inner,
      wrapKey: (input) => inner.wrapKey({ ...input, plaintext: new Uint8Array(randomBytes(32)) }),
      generateDataKey: async (input) => {
        const plaintext = new Uint8Array(randomBytes(input.length));
        return { plaintext, wrapped: await inner.wrapKey({ ...input, plaintext }) };
      },
    }));
    expect(statusOf(report)[TWO]).toBe('failed');
  });

  it("a provider whose data key is not the one its wrap holds (the other recipient's wrap is of the wrong key)", async () => {
    const report = await recipientsGroup((inner) => ({
      ...inner,
      generateDataKey: async (input) => {
        const data = await (inner.generateDataKey as NonNullable<KeyProvider['generateDataKey']>)(input);
        return { ...data, plaintext: new Uint8Array(randomBytes(input.length)) };
      },
    }));
    const status = statusOf(report);
    expect([status[TWO], status[ADD_REMOVE]]).toEqual(['failed', 'failed']);
  });

  it('a provider whose deleteKey leaves the key usable', async () => {
    const report = await recipientsGroup((inner) => ({ ...inner, deleteKey: async () => {} }));
    expect(statusOf(report)[FALLBACK]).toBe('failed');
  });

  it('a provider that keeps wrapping under the old version after a rotation', async () => {
    const report = await recipientsGroup((inner) => ({
      ...inner,
      wrapKey: async (input) => {
        const v1 = await (inner.getKey as NonNullable<KeyProvider['getKey']>)(input.keyId, 1);
        const w = await inner.wrapKey(input);
        // Label the newest wrap as version 1 (it unwraps under the newest material, by trying it).
        return { ...w, version: v1.version };
      },
      unwrapKey: async (input) => {
        const latest = (await (inner.getKey as NonNullable<KeyProvider['getKey']>)(input.keyId)).version;
        return inner.unwrapKey({ ...input, version: latest }).catch(() => inner.unwrapKey(input));
      },
    }));
    expect(statusOf(report)[REENCRYPT]).toBe('failed');
  });

  it('a provider whose batch unwrap answers out of order', async () => {
    const report = await recipientsGroup((inner) => ({
      ...inner,
      capabilities: { ...inner.capabilities, batch: true },
      unwrapKeys: async (inputs: readonly UnwrapKeyInput[]) =>
        (await Promise.all(inputs.map((i) => inner.unwrapKey(i).catch((e: Error) => e)))).reverse(),
      rewrapKeys: async (inputs: readonly UnwrapKeyInput[]) => inputs.map(() => new Error('not used')),
    }));
    expect(statusOf(report)[MANY]).toBe('failed');
  });
});
