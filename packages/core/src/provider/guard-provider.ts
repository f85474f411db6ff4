import { normalizeContext } from '../context/encryption-context.js';
import { Closed, InvalidArgument, UnsupportedOperation } from '../errors/keystore-error.js';
import { newCallState, runInCall } from './call-deadline.js';
import { ALL_CAPABILITIES, type Capability } from './capabilities.js';
import { batchFromSingle, generateFromWrap, rewrapFromUnwrapAndWrap } from './capability-fallbacks.js';
import {
  checkBatchOut,
  checkDataKeyIn,
  checkDataKeyOut,
  checkDeclaredMethods,
  checkInPlaceOut,
  checkKeyIdIn,
  checkListOut,
  checkMaterialIn,
  checkMaterialOut,
  checkMetadataOut,
  checkProviderType,
  checkRewrappedOut,
  checkRotatedOut,
  checkSpecification,
  checkVersionIn,
  checkVersioning,
  checkVersionsOut,
  checkWrappedIn,
  checkWrappedOut,
  isBytes,
} from './guard-checks.js';
import { withTimeout, zeroLate } from './guard-deadline.js';
import { mapError } from './guard-errors.js';
import {
  type KeyProvider,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
} from './key-provider.js';

/**
 * The provider contract, enforced rather than trusted (as the AWS Encryption
 * SDK's keyring base class does): every call into an adapter passes the
 * labelled checks of `guard-checks.ts` on the way in and on the way out,
 * errors are rebuilt as typed errors whose messages cannot carry a foreign
 * payload (`guard-errors.ts`), slow backends time out (`guard-deadline.ts`),
 * and close waits for calls in flight. What a provider lacks, the
 * `capability-fallbacks.ts` build from what it has.
 */
export interface GuardOptions {
  /** Milliseconds before a backend call fails with ProviderUnavailable (default 15 s). */
  readonly timeoutMs?: number;
}

/** How long one backend call may take before it fails with ProviderUnavailable, unless configured. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 15_000;

/** Items per batch request. */
const BATCH_SIZE = 250;
/** Batch requests of one bulk call in flight at once. */
const BATCHES_IN_FLIGHT = 4;
const GUARDED = Symbol('keystore.guarded');

/** A provider behind the guard: every operation exists (unsupported ones throw UnsupportedOperation). */
export type GuardedProvider = Required<KeyProvider>;

/** Wraps `provider` so that the core's rules hold whatever the adapter does. Guarding twice is a no-op. */
export function guardProvider(provider: KeyProvider, options: GuardOptions = {}): GuardedProvider {
  if ((provider as { [GUARDED]?: boolean } | null)?.[GUARDED] === true) return provider as GuardedProvider;
  checkSpecification(provider);
  const type = checkProviderType(provider.type);
  const capabilities = Object.freeze(
    Object.fromEntries(ALL_CAPABILITIES.map((c) => [c, provider.capabilities?.[c] === true])),
  ) as ProviderCapabilities;
  checkDeclaredMethods(provider, type, capabilities);
  const versioning = checkVersioning(type, provider.versioning);
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  let closed = false;
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  /** One backend call: refused after close, timed out, errors mapped, tracked so close can wait for it. */
  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw new Closed(`the ${type} provider is closed`);
    const state = newCallState(timeoutMs);
    // Tracked before the adapter runs (a close it starts itself waits for this call), and until
    // the call's outcome is known to its caller: its answer, or its timeout, so close never
    // waits on a backend that does not answer.
    let settle: () => void = () => {};
    const tracked = new Promise<void>((resolve) => {
      settle = resolve;
    });
    inFlight.add(tracked);
    let pending: Promise<T>;
    try {
      // Promise.resolve: an adapter that breaks the contract by answering synchronously still goes through the checks.
      pending = Promise.resolve(runInCall(state, run));
    } catch (error) {
      pending = Promise.reject(error);
    }
    try {
      return await withTimeout(pending, timeoutMs, type, operation, state);
    } catch (error) {
      throw mapError(type, operation, error);
    } finally {
      inFlight.delete(tracked);
      settle();
    }
  }

  /**
   * Sends `inputs` in batches, up to BATCHES_IN_FLIGHT at once (a backend's
   * batch is a round trip: the next one need not wait for it); checks each
   * answer; results in input order; an item's failure stays in its slot.
   * When one call fails the whole operation fails, and no data key of any
   * batch, earlier or answering later, reaches the caller.
   */
  async function inBatches<R>(
    inputs: readonly UnwrapKeyInput[],
    operation: 'unwrapKeys' | 'rewrapKeys',
    send: (batch: readonly UnwrapKeyInput[]) => Promise<unknown[]>,
    check: (out: unknown, input: UnwrapKeyInput) => R,
  ): Promise<(R | Error)[]> {
    const batches: (readonly UnwrapKeyInput[])[] = [];
    for (let i = 0; i < inputs.length; i += BATCH_SIZE) batches.push(inputs.slice(i, i + BATCH_SIZE));
    const settled: (R | Error)[][] = [];
    let failure: { error: unknown } | undefined;
    const fail = (error: unknown) => {
      failure ??= { error };
    };
    let next = 0;
    const worker = async () => {
      while (failure === undefined && next < batches.length) {
        const index = next++;
        const batch = batches[index] as readonly UnwrapKeyInput[];
        let answers: unknown[];
        try {
          answers = await call(operation, () => send(batch));
        } catch (error) {
          fail(error);
          return;
        }
        if (failure !== undefined) {
          zeroLate(answers); // another batch failed meanwhile: this answer is not used
          return;
        }
        try {
          checkBatchOut(type, operation, answers, batch.length);
        } catch (error) {
          zeroLate(answers);
          fail(error);
          return;
        }
        settled[index] = answers.map((answer, j) => {
          if (answer instanceof Error) return mapError(type, operation, answer);
          try {
            return check(answer, batch[j] as UnwrapKeyInput);
          } catch (error) {
            return error as Error;
          } finally {
            if (operation === 'unwrapKeys') zeroLate(answer);
          }
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, batches.length) }, worker));
    if (failure !== undefined) {
      // The whole call fails: the data keys of the batches that succeeded never reach the caller.
      for (const results of settled) zeroLate(results);
      throw failure.error;
    }
    return settled.flat();
  }

  /** capability: an operation not declared fails with UnsupportedOperation; else the provider's method. */
  /** A wrapped key out of the adapter: well-formed, and at the constant version when it rotates in place. */
  const wrappedOut = (out: unknown) => checkInPlaceOut(type, checkWrappedOut(type, out), versioning);
  const rewrappedOut = (out: unknown, input: UnwrapKeyInput) =>
    checkInPlaceOut(type, checkRewrappedOut(type, out, input), versioning);

  function method<M extends keyof KeyProvider>(c: Capability, m: M): NonNullable<KeyProvider[M]> {
    if (!capabilities[c]) throw new UnsupportedOperation(`the ${type} provider does not support ${c}`);
    return (provider[m] as (...args: unknown[]) => unknown).bind(provider) as NonNullable<KeyProvider[M]>;
  }

  const guarded: GuardedProvider & { [GUARDED]: true } = {
    [GUARDED]: true,
    specificationVersion: SPECIFICATION_VERSION,
    type,
    capabilities,
    versioning,

    async wrapKey(input) {
      checkKeyIdIn(input.keyId);
      if (!isBytes(input.plaintext)) throw new InvalidArgument('plaintext must be a Uint8Array');
      checkDataKeyIn(input.plaintext.length);
      const context = normalizeContext(input.context, { allowReserved: true });
      const out = await call('wrapKey', () =>
        provider.wrapKey({ keyId: input.keyId, plaintext: input.plaintext, context }),
      );
      return wrappedOut(out);
    },

    async unwrapKey(input) {
      const checked = checkWrappedIn(input);
      const out = await call('unwrapKey', () => provider.unwrapKey(checked));
      try {
        return checkDataKeyOut(type, out);
      } finally {
        zeroLate(out);
      }
    },

    async generateDataKey(input) {
      checkKeyIdIn(input.keyId);
      checkDataKeyIn(input.length);
      const checked = { ...input, context: normalizeContext(input.context, { allowReserved: true }) };
      if (!capabilities.generateDataKey) return generateFromWrap(checked, guarded.wrapKey);
      const generate = method('generateDataKey', 'generateDataKey');
      const out = await call('generateDataKey', () => generate(checked));
      try {
        return {
          plaintext: checkDataKeyOut(type, out?.plaintext, input.length),
          wrapped: wrappedOut(out?.wrapped),
        };
      } finally {
        zeroLate(out);
      }
    },

    async rewrapKey(input) {
      const checked = checkWrappedIn(input);
      if (!capabilities.rewrapKey) {
        const out = await rewrapFromUnwrapAndWrap(checked, guarded.unwrapKey, guarded.wrapKey);
        return rewrappedOut(out, checked);
      }
      const rewrap = method('rewrapKey', 'rewrapKey');
      return rewrappedOut(await call('rewrapKey', () => rewrap(checked)), checked);
    },

    async unwrapKeys(inputs) {
      const checked = inputs.map(checkWrappedIn);
      if (!capabilities.batch) return batchFromSingle(checked, guarded.unwrapKey);
      const unwrap = method('batch', 'unwrapKeys');
      return inBatches(checked, 'unwrapKeys', unwrap, (out) => checkDataKeyOut(type, out));
    },

    async rewrapKeys(inputs) {
      const checked = inputs.map(checkWrappedIn);
      if (!capabilities.batch) return batchFromSingle(checked, guarded.rewrapKey);
      const rewrap = method('batch', 'rewrapKeys');
      return inBatches(checked, 'rewrapKeys', rewrap, (out, input) => rewrappedOut(out, input));
    },

    async getKey(keyId, version) {
      const getKey = method('getKey', 'getKey');
      checkKeyIdIn(keyId);
      if (version !== undefined) checkVersionIn(version);
      return checkMaterialOut(type, keyId, await call('getKey', () => getKey(keyId, version)), version);
    },

    async createKey(keyId, opts) {
      const createKey = method('createKey', 'createKey');
      checkKeyIdIn(keyId);
      return checkMetadataOut(type, keyId, await call('createKey', () => createKey(keyId, opts)));
    },

    async importKey(keyId, material, opts) {
      const importKey = method('importKey', 'importKey');
      checkKeyIdIn(keyId);
      checkMaterialIn(material);
      return checkMetadataOut(type, keyId, await call('importKey', () => importKey(keyId, material, opts)));
    },

    async listKeys() {
      const listKeys = method('listKeys', 'listKeys');
      return checkListOut(type, await call('listKeys', () => listKeys()));
    },

    async listVersions(keyId) {
      const listVersions = method('listVersions', 'listVersions');
      checkKeyIdIn(keyId);
      return checkVersionsOut(type, await call('listVersions', () => listVersions(keyId)));
    },

    async rotateKey(keyId) {
      const rotateKey = method('rotateKey', 'rotateKey');
      checkKeyIdIn(keyId);
      return checkRotatedOut(type, keyId, await call('rotateKey', () => rotateKey(keyId)), versioning);
    },

    async deleteKey(keyId, opts) {
      const deleteKey = method('deleteKey', 'deleteKey');
      checkKeyIdIn(keyId);
      await call('deleteKey', () => deleteKey(keyId, opts));
    },

    /** close: refuses new calls at once, lets the ones in flight finish (each bounded by the timeout), then closes; idempotent. */
    close() {
      if (closing === undefined) {
        closed = true;
        closing = Promise.allSettled([...inFlight])
          .then(() => provider.close())
          .catch((error: unknown) => {
            throw mapError(type, 'close', error);
          });
      }
      return closing;
    },
  };
  return guarded;
}
