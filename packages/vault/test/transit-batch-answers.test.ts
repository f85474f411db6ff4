import type { UnwrapKeyInput } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import type { VaultClient } from '../src/client.js';
import { createTransitBatch, ITEMS_PER_REQUEST } from '../src/transit/batch.js';

/**
 * The checks of a batch answer that a correct server never fails: a client
 * that answers as told (the server tests cover what OpenBao really says).
 */
type Answer = (body: { batch_input: { reference: string }[] }) => unknown;

function clientAnswering(answer: Answer, sent: unknown[] = []): VaultClient {
  return {
    async request(_method, _path, body) {
      sent.push(body);
      return answer(body as { batch_input: { reference: string }[] }) as Record<string, unknown>;
    },
    close() {},
  };
}

const input = (n: number): UnwrapKeyInput => ({
  keyId: 'k',
  version: 1,
  ciphertext: Buffer.from(`vault:v1:${Buffer.from(`ct-${n}`).toString('base64')}`),
  context: { id: String(n) },
});
const plaintext = Buffer.alloc(32, 7).toString('base64');
const items = (body: Parameters<Answer>[0]) =>
  body.batch_input.map((item) => ({ plaintext, reference: item.reference }));
const ok: Answer = (body) => ({ data: { batch_results: items(body) } });

describe('transit batch answers', () => {
  it('cuts one key into even requests of at most ITEMS_PER_REQUEST', async () => {
    const sent: { batch_input: unknown[] }[] = [];
    const batch = createTransitBatch(clientAnswering(ok, sent), 'transit');
    const results = await batch.unwrapKeys(Array.from({ length: 400 }, (_, i) => input(i)));
    expect(results).toHaveLength(400);
    // 400 items need 3 requests of at most 166: cut evenly.
    expect(sent.map((b) => b.batch_input.length)).toEqual([134, 134, 132]);
    expect(ITEMS_PER_REQUEST).toBe(166);
  });

  it.each<[string, Answer]>([
    ['a missing item', (b) => ({ data: { batch_results: items(b).slice(1) } })],
    ['an extra item', (b) => ({ data: { batch_results: [...items(b), { plaintext, reference: '3' }] } })],
    ['reordered items', (b) => ({ data: { batch_results: items(b).reverse() } })],
    [
      'an item with neither plaintext nor error',
      (b) => ({
        data: { batch_results: b.batch_input.map((i) => ({ reference: i.reference })) },
      }),
    ],
    ['no batch_results', () => ({ data: {} })],
  ])('%s fails the whole call with ProviderError', async (_, answer) => {
    const batch = createTransitBatch(clientAnswering(answer), 'transit');
    await expect(batch.unwrapKeys([input(1), input(2), input(3)])).rejects.toMatchObject({
      code: 'ProviderError',
    });
  });

  it('an item error is its slot only, and never copies the server text', async () => {
    const secret = 'c2VjcmV0LWJvZHk=';
    const batch = createTransitBatch(
      clientAnswering((b) => ({
        data: {
          batch_results: b.batch_input.map((i, j) =>
            j === 1
              ? { reference: i.reference, error: `weird ${secret}` }
              : { plaintext, reference: i.reference },
          ),
        },
      })),
      'transit',
    );
    const results = await batch.unwrapKeys([input(1), input(2), input(3)]);
    expect(results[0]).toBeInstanceOf(Uint8Array);
    expect(results[1]).toMatchObject({ code: 'ProviderError' });
    expect((results[1] as Error).message).not.toContain(secret);
    expect(results[2]).toBeInstanceOf(Uint8Array);
  });
});
