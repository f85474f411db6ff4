import { randomFillSync } from 'node:crypto';
import { normalizeContext } from '../context/encryption-context.js';
import {
  Closed,
  InvalidArgument,
  isKeystoreError,
  KeystoreError,
  type KeystoreErrorCode,
  ProviderError,
  ProviderUnavailable,
  UnsupportedOperation,
} from '../errors/keystore-error.js';
import { settleLimit } from '../util/settle-limit.js';
import { type CallState, newCallState, runInCall } from './call-deadline.js';
import { checkKeyId } from './key-id.js';
import {
  ALL_CAPABILITIES,
  type Capability,
  type DataKey,
  type KeyMaterial,
  type KeyProvider,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type WrappedKey,
} from './key-provider.js';

/**
 * The provider contract, enforced rather than trusted (as the AWS Encryption
 * SDK's keyring base class does): every call into an adapter is checked on
 * the way in and on the way out, errors are rebuilt as typed errors whose
 * messages cannot carry a foreign payload, slow backends time out, and
 * close waits for calls in flight.
 */
export interface GuardOptions {
  /** Milliseconds before a backend call fails with ProviderUnavailable (default 15 s). */
  readonly timeoutMs?: number;
}

/** How long one backend call may take before it fails with ProviderUnavailable, unless configured. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 15_000;

/** Items per batch request, and calls in flight when a provider has no batch form. */
const BATCH_SIZE = 250;
const CONCURRENCY = 16;
const MIN_DATA_KEY = 16;
const MAX_DATA_KEY = 64;
/** Wrapped keys travel in a u16-length envelope field. */
const MAX_WRAPPED = 0xffff;
const GUARDED = Symbol('keystore.guarded');
const CODES = new Set<KeystoreErrorCode>([
  'InvalidToken',
  'InvalidKey',
  'KeyNotFound',
  'KeyExists',
  'ProviderUnavailable',
  'AccessDenied',
  'ConfigError',
  'UnsupportedOperation',
  'Conflict',
  'InvalidArgument',
  'Corrupted',
  'Closed',
  'ProviderError',
]);
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|EPIPE)$/;
const SAFE_WORD = /^[A-Za-z][A-Za-z0-9_]{0,40}$/;

function checkVersion(version: unknown, what: string): asserts version is number {
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new InvalidArgument(`${what} must be a positive integer`);
  }
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * An adapter's error as one of ours. A KeystoreError keeps its code and its
 * message (adapters write those) but never its `cause`; anything else keeps
 * only a class name and code that look like identifiers, never a message,
 * since backend messages and bodies may hold secrets.
 */
function mapError(type: string, operation: string, error: unknown): KeystoreError {
  if (error instanceof Error && isKeystoreError(error) && CODES.has(error.code)) {
    if (error.cause === undefined && error instanceof KeystoreError) return error;
    return new KeystoreError(error.code, String(error.message));
  }
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const words = [name, code].filter((w): w is string => typeof w === 'string' && SAFE_WORD.test(w));
  const message = `the ${type} provider failed in ${operation} (${words.join(' ') || 'error'})`;
  return typeof code === 'string' && NETWORK_CODES.test(code)
    ? new ProviderUnavailable(message)
    : new ProviderError(message);
}

/** Zeroes data-key bytes in a result that arrives after its caller gave up waiting. */
function zeroLate(value: unknown): void {
  if (isBytes(value)) value.fill(0);
  else if (isBytes((value as DataKey | undefined)?.plaintext)) (value as DataKey).plaintext.fill(0);
  else if (Array.isArray(value)) for (const item of value) zeroLate(item);
}

/**
 * The call's result, or `ProviderUnavailable` after `ms`. A call that has
 * begun its commit (see `beginCommit`) is not reported as timed out: its real
 * outcome is awaited, for at most another `ms`, after which the error says
 * that the outcome is unknown.
 */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  type: string,
  operation: string,
  state: CallState,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const expire = (graceLeft: boolean) => {
      if (state.committing && graceLeft) {
        timer = setTimeout(() => expire(false), ms);
        timer.unref?.();
        return;
      }
      state.timedOut = true;
      reject(
        new ProviderUnavailable(
          state.committing
            ? `the ${type} provider did not finish ${operation} within ${2 * ms} ms: its write had begun, so it may or may not have happened`
            : `the ${type} provider did not answer ${operation} within ${ms} ms`,
        ),
      );
    };
    timer = setTimeout(() => expire(true), ms);
    timer.unref?.();
  });
  // A backend call cannot be cancelled: if it answers late, no data key of its answer stays in memory.
  promise.then((late) => state.timedOut && zeroLate(late)).catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkWrapped(type: string, wrapped: unknown): WrappedKey {
  const w = wrapped as WrappedKey | undefined;
  if (
    typeof w !== 'object' ||
    w === null ||
    typeof w.keyId !== 'string' ||
    w.keyId.length === 0 ||
    !Number.isSafeInteger(w.version) ||
    w.version < 1 ||
    !isBytes(w.ciphertext) ||
    w.ciphertext.length === 0 ||
    w.ciphertext.length > MAX_WRAPPED
  ) {
    throw new ProviderError(
      `the ${type} provider returned a malformed wrapped key (key id, version and 1 to ${MAX_WRAPPED} bytes of ciphertext are required)`,
    );
  }
  return { keyId: w.keyId, version: w.version, ciphertext: w.ciphertext };
}

/** A data key from the provider, copied so that zeroing ours never touches the provider's buffers. */
function checkDataKey(type: string, key: unknown, length?: number): Uint8Array {
  if (
    !isBytes(key) ||
    (length === undefined ? key.length < MIN_DATA_KEY || key.length > MAX_DATA_KEY : key.length !== length)
  ) {
    throw new ProviderError(`the ${type} provider returned a data key of the wrong size`);
  }
  return new Uint8Array(key);
}

function checkDataKeyLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < MIN_DATA_KEY || length > MAX_DATA_KEY) {
    throw new InvalidArgument(`data keys are ${MIN_DATA_KEY} to ${MAX_DATA_KEY} bytes`);
  }
}

function checkUnwrapInput(input: UnwrapKeyInput): UnwrapKeyInput {
  checkKeyId(input.keyId);
  checkVersion(input.version, 'key version');
  if (!isBytes(input.ciphertext) || input.ciphertext.length === 0) {
    throw new InvalidArgument('ciphertext must be bytes');
  }
  return { ...input, context: normalizeContext(input.context, { allowReserved: true }) };
}

/** A provider behind the guard: every operation exists (unsupported ones throw UnsupportedOperation). */
export type GuardedProvider = Required<KeyProvider>;

/** Wraps `provider` so that the core's rules hold whatever the adapter does. Guarding twice is a no-op. */
export function guardProvider(provider: KeyProvider, options: GuardOptions = {}): GuardedProvider {
  if (provider === null || typeof provider !== 'object') {
    throw new ProviderError('a provider must be an object');
  }
  if ((provider as { [GUARDED]?: boolean })[GUARDED] === true) return provider as GuardedProvider;
  if (provider.specificationVersion !== SPECIFICATION_VERSION) {
    throw new ProviderError(
      `provider '${String(provider.type)}' implements specification ${String(provider.specificationVersion)}; this core speaks ${SPECIFICATION_VERSION}`,
    );
  }
  const type = provider.type;
  if (typeof type !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(type)) {
    throw new ProviderError('a provider type must be lower-case letters, digits and dashes');
  }
  const capabilities = Object.freeze(
    Object.fromEntries(ALL_CAPABILITIES.map((c) => [c, provider.capabilities?.[c] === true])),
  ) as unknown as KeyProvider['capabilities'];
  for (const c of ALL_CAPABILITIES) {
    if (c === 'generateDataKey' || c === 'rewrapKey') continue;
    const methods = c === 'batch' ? (['unwrapKeys', 'rewrapKeys'] as const) : ([c] as const);
    for (const m of methods) {
      if (capabilities[c] && typeof provider[m] !== 'function') {
        throw new ProviderError(`provider '${type}' declares ${c} but does not implement ${m}`);
      }
    }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  let closed = false;
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  /** One backend call: refused after close, timed out, errors mapped, tracked so close can wait for it. */
  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw new Closed(`the ${type} provider is closed`);
    const state = newCallState(timeoutMs);
    const pending = Promise.resolve().then(() => runInCall(state, run));
    inFlight.add(pending);
    pending.then(
      () => inFlight.delete(pending),
      () => inFlight.delete(pending),
    );
    try {
      return await withTimeout(pending, timeoutMs, type, operation, state);
    } catch (error) {
      throw mapError(type, operation, error);
    }
  }

  /** Sends `inputs` in batches; checks each answer; an item's failure stays in its slot. */
  async function inBatches<R>(
    inputs: readonly UnwrapKeyInput[],
    operation: string,
    send: (batch: readonly UnwrapKeyInput[]) => Promise<(unknown | Error)[]>,
    check: (out: unknown, input: UnwrapKeyInput) => R,
  ): Promise<(R | Error)[]> {
    const results: (R | Error)[] = [];
    for (let i = 0; i < inputs.length; i += BATCH_SIZE) {
      const batch = inputs.slice(i, i + BATCH_SIZE);
      const answers = await call(operation, () => send(batch));
      if (!Array.isArray(answers) || answers.length !== batch.length) {
        zeroLate(answers);
        throw new ProviderError(
          `the ${type} provider answered ${operation} with the wrong number of results`,
        );
      }
      answers.forEach((answer, j) => {
        if (answer instanceof Error) {
          results.push(mapError(type, operation, answer));
          return;
        }
        try {
          results.push(check(answer, batch[j] as UnwrapKeyInput));
        } catch (error) {
          results.push(error as Error);
        } finally {
          if (operation === 'unwrapKeys') zeroLate(answer);
        }
      });
    }
    return results;
  }

  function requireCapability(c: Capability): void {
    if (!capabilities[c]) throw new UnsupportedOperation(`the ${type} provider does not support ${c}`);
  }

  function checkRewrapped(out: unknown, input: UnwrapKeyInput): WrappedKey {
    const wrapped = checkWrapped(type, out);
    if (wrapped.version < input.version) {
      throw new ProviderError(`the ${type} provider re-wrapped a key to an older version`);
    }
    return wrapped;
  }

  const guarded: GuardedProvider & { [GUARDED]: true } = {
    [GUARDED]: true,
    specificationVersion: SPECIFICATION_VERSION,
    type,
    capabilities,

    async wrapKey(input) {
      checkKeyId(input.keyId);
      if (!isBytes(input.plaintext)) throw new InvalidArgument('plaintext must be a Uint8Array');
      checkDataKeyLength(input.plaintext.length);
      const context = normalizeContext(input.context, { allowReserved: true });
      const out = await call('wrapKey', () =>
        provider.wrapKey({ keyId: input.keyId, plaintext: input.plaintext, context }),
      );
      return checkWrapped(type, out);
    },

    async unwrapKey(input) {
      const checked = checkUnwrapInput(input);
      const out = await call('unwrapKey', () => provider.unwrapKey(checked));
      try {
        return checkDataKey(type, out);
      } finally {
        zeroLate(out);
      }
    },

    async generateDataKey(input) {
      checkKeyId(input.keyId);
      checkDataKeyLength(input.length);
      const context = normalizeContext(input.context, { allowReserved: true });
      const generate = provider.generateDataKey?.bind(provider);
      if (capabilities.generateDataKey && generate !== undefined) {
        const out = await call('generateDataKey', () =>
          generate({ keyId: input.keyId, length: input.length, context }),
        );
        try {
          return {
            plaintext: checkDataKey(type, out?.plaintext, input.length),
            wrapped: checkWrapped(type, out?.wrapped),
          };
        } finally {
          zeroLate(out);
        }
      }
      const plaintext = randomFillSync(new Uint8Array(input.length));
      try {
        const wrapped = await call('wrapKey', () =>
          provider.wrapKey({ keyId: input.keyId, plaintext, context }),
        );
        return { plaintext, wrapped: checkWrapped(type, wrapped) };
      } catch (error) {
        plaintext.fill(0);
        throw error;
      }
    },

    async rewrapKey(input) {
      const checked = checkUnwrapInput(input);
      const rewrap = provider.rewrapKey?.bind(provider);
      if (capabilities.rewrapKey && rewrap !== undefined) {
        return checkRewrapped(await call('rewrapKey', () => rewrap(checked)), checked);
      }
      // No server-side re-wrap: unwrap and wrap again here, the data key never leaving this process.
      const plaintext = await guarded.unwrapKey(checked);
      try {
        return checkRewrapped(
          await guarded.wrapKey({ keyId: checked.keyId, plaintext, context: checked.context }),
          checked,
        );
      } finally {
        plaintext.fill(0);
      }
    },

    async unwrapKeys(inputs) {
      const checked = inputs.map(checkUnwrapInput);
      const unwrap = provider.unwrapKeys?.bind(provider);
      if (!capabilities.batch || unwrap === undefined) {
        return settleLimit(checked, CONCURRENCY, (input) => guarded.unwrapKey(input));
      }
      return inBatches(checked, 'unwrapKeys', unwrap, (out) => checkDataKey(type, out));
    },

    async rewrapKeys(inputs) {
      const checked = inputs.map(checkUnwrapInput);
      const rewrap = provider.rewrapKeys?.bind(provider);
      if (!capabilities.batch || rewrap === undefined) {
        return settleLimit(checked, CONCURRENCY, (input) => guarded.rewrapKey(input));
      }
      return inBatches(checked, 'rewrapKeys', rewrap, checkRewrapped);
    },

    async getKey(keyId, version) {
      requireCapability('getKey');
      checkKeyId(keyId);
      if (version !== undefined) checkVersion(version, 'key version');
      const getKey = provider.getKey?.bind(provider) as NonNullable<KeyProvider['getKey']>;
      const out: KeyMaterial = await call('getKey', () => getKey(keyId, version));
      if (!isBytes(out?.material) || out.material.length !== 32 || !Number.isSafeInteger(out.version)) {
        throw new ProviderError(`the ${type} provider returned malformed key material`);
      }
      return { keyId, version: out.version, material: out.material };
    },

    async createKey(keyId, opts) {
      requireCapability('createKey');
      checkKeyId(keyId);
      const createKey = provider.createKey?.bind(provider) as NonNullable<KeyProvider['createKey']>;
      return call('createKey', () => createKey(keyId, opts));
    },

    async importKey(keyId, material, opts) {
      requireCapability('importKey');
      checkKeyId(keyId);
      if (!isBytes(material) || material.length !== 32)
        throw new InvalidArgument('key material must be 32 bytes');
      const importKey = provider.importKey?.bind(provider) as NonNullable<KeyProvider['importKey']>;
      return call('importKey', () => importKey(keyId, material, opts));
    },

    async listKeys() {
      requireCapability('listKeys');
      const listKeys = provider.listKeys?.bind(provider) as NonNullable<KeyProvider['listKeys']>;
      return call('listKeys', () => listKeys());
    },

    async listVersions(keyId) {
      requireCapability('listVersions');
      checkKeyId(keyId);
      const listVersions = provider.listVersions?.bind(provider) as NonNullable<KeyProvider['listVersions']>;
      return call('listVersions', () => listVersions(keyId));
    },

    async rotateKey(keyId) {
      requireCapability('rotateKey');
      checkKeyId(keyId);
      const rotateKey = provider.rotateKey?.bind(provider) as NonNullable<KeyProvider['rotateKey']>;
      return call('rotateKey', () => rotateKey(keyId));
    },

    async deleteKey(keyId, opts) {
      requireCapability('deleteKey');
      checkKeyId(keyId);
      const deleteKey = provider.deleteKey?.bind(provider) as NonNullable<KeyProvider['deleteKey']>;
      return call('deleteKey', () => deleteKey(keyId, opts));
    },

    /** Refuses new calls at once, lets the ones in flight finish (each bounded by the timeout), then closes. */
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
