import { randomFillSync } from 'node:crypto';
import { settleLimit } from '../util/settle-limit.js';
import type {
  DataKey,
  GenerateDataKeyInput,
  UnwrapKeyInput,
  WrapKeyInput,
  WrappedKey,
} from './key-provider.js';

/**
 * What the guard does for a provider that lacks a capability, built from the
 * operations every provider has. Each takes the guarded operations, so every
 * step is checked as if the caller had made it.
 */

/** Calls in flight when a provider has no batch form. */
const CONCURRENCY = 16;

/** generateDataKey without the capability: a random data key from here, wrapped by the provider. */
export async function generateFromWrap(
  input: GenerateDataKeyInput,
  wrap: (input: WrapKeyInput) => Promise<WrappedKey>,
): Promise<DataKey> {
  const plaintext = randomFillSync(new Uint8Array(input.length));
  try {
    return { plaintext, wrapped: await wrap({ keyId: input.keyId, plaintext, context: input.context }) };
  } catch (error) {
    plaintext.fill(0);
    throw error;
  }
}

/** rewrapKey without the capability: unwrap and wrap again here, the data key never leaving this process. */
export async function rewrapFromUnwrapAndWrap(
  input: UnwrapKeyInput,
  unwrap: (input: UnwrapKeyInput) => Promise<Uint8Array>,
  wrap: (input: WrapKeyInput) => Promise<WrappedKey>,
): Promise<WrappedKey> {
  const plaintext = await unwrap(input);
  try {
    return await wrap({ keyId: input.keyId, plaintext, context: input.context });
  } finally {
    plaintext.fill(0);
  }
}

/** A batch form without the capability: the single form, a few at a time, each failure in its slot. */
export function batchFromSingle<R>(
  inputs: readonly UnwrapKeyInput[],
  single: (input: UnwrapKeyInput) => Promise<R>,
): Promise<(R | Error)[]> {
  return settleLimit(inputs, CONCURRENCY, single);
}
