import {
  AccessDenied,
  KeyNotFound,
  type KeystoreError,
  ProviderError,
  type UnwrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { mapVaultItemError } from '../errors.js';
import { transitName } from './names.js';
import { decodeBase64, derivationContext, fromWrapped, toWrapped } from './wire.js';

/**
 * The batch forms of decrypt and rewrap (`batch_input`). Transit batches are
 * per key, so the inputs are grouped by key id, each group cut into requests
 * the server accepts, and every answer put back in its input's slot.
 */

/**
 * The listener's `max_request_json_strings` default: a request body with more
 * JSON strings, object keys and values both counted, is refused whole (HTTP
 * 400 `refused JSON input due to high complexity`). Measured on OpenBao 2.7.2
 * with `{ batch_input: [...] }` on decrypt and rewrap: 499 items of one field
 * pass and 500 are refused (2 × 500 + 1 = 1,001); 249 items of two fields pass
 * and 250 are refused; 166 items of three fields plus
 * `partial_failure_response_code` pass and 167 are refused (6 × 167 + 2 = 1,004).
 */
export const MAX_REQUEST_JSON_STRINGS = 1000;
/** `ciphertext`, `context` and `reference`, keys and values. */
const STRINGS_PER_ITEM = 6;
/** `batch_input` and `partial_failure_response_code`. */
const STRINGS_PER_REQUEST = 2;
/** 166: the items of one request. */
export const ITEMS_PER_REQUEST = Math.floor(
  (MAX_REQUEST_JSON_STRINGS - STRINGS_PER_REQUEST) / STRINGS_PER_ITEM,
);
/** Requests of one call in flight at once (keys of a mixed call, or the pieces of a large group). */
const CONCURRENT_REQUESTS = 4;

/**
 * Statuses that carry per-item results. Decrypt with
 * `partial_failure_response_code: 207` answers 207 when some items failed and
 * 400 when all did; rewrap ignores that parameter (measured on OpenBao
 * 2.7.2: a warning says so) and answers 200 with the errors only inside the
 * items. So every item is checked, whatever the status.
 */
const BATCH_STATUSES = [207, 400] as const;

const itemSchema = z.object({
  reference: z.string(),
  error: z.string().optional(),
  plaintext: z.string().optional(),
  ciphertext: z.string().optional(),
  key_version: z.number().int().positive().optional(),
});
type Item = z.infer<typeof itemSchema>;
const batchResponse = z.object({ data: z.object({ batch_results: z.array(itemSchema) }) });

/** One input, ready to send. */
interface Prepared {
  readonly slot: number;
  readonly ciphertext: string;
  readonly context: string;
}

interface Request {
  readonly name: string;
  readonly items: readonly Prepared[];
}

const mismatch = () =>
  new ProviderError('vault: the batch answer does not match the request (missing, extra or reordered items)');

/** A whole-request refusal that concerns only that key's items (unknown key, policy on its path). */
const isKeyRefusal = (error: unknown) => error instanceof KeyNotFound || error instanceof AccessDenied;

export interface TransitBatch {
  unwrapKeys(inputs: readonly UnwrapKeyInput[]): Promise<(Uint8Array | Error)[]>;
  rewrapKeys(inputs: readonly UnwrapKeyInput[]): Promise<(WrappedKey | Error)[]>;
}

export function createTransitBatch(client: VaultClient, mount: string): TransitBatch {
  /**
   * Sends `inputs` in per-key requests; `read` turns one successful item into
   * its result (throwing ProviderError when the item is malformed, which
   * fails the whole call, as a missing, extra or reordered item does).
   */
  async function run<R>(
    operation: 'decrypt' | 'rewrap',
    inputs: readonly UnwrapKeyInput[],
    read: (item: Item, name: string) => R,
    discard: (result: R) => void,
  ): Promise<(R | Error)[]> {
    const results = new Array<R | Error>(inputs.length);
    const groups = new Map<string, Prepared[]>();
    inputs.forEach((input, slot) => {
      try {
        const name = transitName(input.keyId);
        const prepared = { slot, ciphertext: fromWrapped(input), context: derivationContext(input.context) };
        const group = groups.get(name);
        if (group === undefined) groups.set(name, [prepared]);
        else group.push(prepared);
      } catch (error) {
        results[slot] = error as KeystoreError;
      }
    });
    const requests: Request[] = [];
    for (const [name, items] of groups) {
      // Pieces of even size (250 items: 125 + 125, not 166 + 84), sent side by side.
      const size = Math.ceil(items.length / Math.ceil(items.length / ITEMS_PER_REQUEST));
      for (let i = 0; i < items.length; i += size) requests.push({ name, items: items.slice(i, i + size) });
    }

    let failure: unknown;
    async function send({ name, items }: Request): Promise<void> {
      let body: Record<string, unknown>;
      try {
        body = await client.request(
          'POST',
          `${mount}/${operation}/${name}`,
          {
            batch_input: items.map((p, j) => ({
              ciphertext: p.ciphertext,
              context: p.context,
              reference: `${j}`,
            })),
            ...(operation === 'decrypt' ? { partial_failure_response_code: 207 } : {}),
          },
          { answerStatuses: BATCH_STATUSES },
        );
      } catch (error) {
        if (!isKeyRefusal(error)) throw error;
        for (const p of items) results[p.slot] = error as KeystoreError;
        return;
      }
      const parsed = batchResponse.safeParse(body);
      if (!parsed.success) throw new ProviderError(`vault: unexpected response to a ${operation} batch`);
      const answers = parsed.data.data.batch_results;
      if (answers.length !== items.length || answers.some((a, j) => a.reference !== `${j}`)) throw mismatch();
      // Read every item before placing any, so a malformed one leaves nothing to zero but what is read.
      const answered: (R | Error)[] = [];
      try {
        for (const answer of answers) {
          answered.push(
            answer.error !== undefined && answer.error !== ''
              ? mapVaultItemError(answer.error)
              : read(answer, name),
          );
        }
      } catch (error) {
        for (const r of answered) if (!(r instanceof Error)) discard(r);
        throw error;
      }
      items.forEach((p, j) => {
        results[p.slot] = answered[j] as R | Error;
      });
    }

    let next = 0;
    async function worker(): Promise<void> {
      while (failure === undefined && next < requests.length) {
        const request = requests[next++] as Request;
        try {
          await send(request);
        } catch (error) {
          failure ??= error;
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_REQUESTS, requests.length) }, worker));
    if (failure !== undefined) {
      // The whole call fails: no data key it unwrapped reaches anyone.
      for (const r of results) if (r !== undefined && !(r instanceof Error)) discard(r);
      throw failure;
    }
    return results;
  }

  return {
    unwrapKeys(inputs) {
      return run(
        'decrypt',
        inputs,
        (item) => {
          if (item.plaintext === undefined || item.plaintext === '') {
            throw new ProviderError('vault: a decrypt batch item has no plaintext');
          }
          return decodeBase64(item.plaintext, 'the plaintext');
        },
        (key) => key.fill(0),
      );
    },

    rewrapKeys(inputs) {
      return run(
        'rewrap',
        inputs,
        (item, name) => {
          if (item.ciphertext === undefined)
            throw new ProviderError('vault: a rewrap batch item has no ciphertext');
          const wrapped = toWrapped(name, item.ciphertext);
          if (item.key_version !== undefined && item.key_version !== wrapped.version) {
            throw new ProviderError('vault: a rewrap batch item names two versions');
          }
          return wrapped;
        },
        () => {},
      );
    },
  };
}
