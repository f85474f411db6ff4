import { normalizeContext } from '../context/encryption-context.js';
import {
  Closed,
  InvalidArgument,
  isKeystoreError,
  type KeystoreError,
  ProviderError,
  ProviderUnavailable,
  UnsupportedOperation,
} from '../errors/keystore-error.js';
import { settleLimit } from '../util/settle-limit.js';
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
 * the way in and on the way out, errors are mapped to typed errors with
 * messages that cannot carry secrets, and slow backends time out.
 */
export interface GuardOptions {
  /** Milliseconds before a backend call fails with ProviderUnavailable (default 15 s). */
  readonly timeoutMs?: number;
}

/** Items per batch request, and calls in flight when a provider has no batch form. */
const BATCH_SIZE = 250;
const CONCURRENCY = 16;

const MIN_DATA_KEY = 16;
const MAX_DATA_KEY = 64;

function checkVersion(version: unknown, what: string): asserts version is number {
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new InvalidArgument(`${what} must be a positive integer`);
  }
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** An adapter error becomes ours; a foreign error keeps only its class name and code. */
function mapError(type: string, operation: string, error: unknown): KeystoreError {
  if (isKeystoreError(error)) return error;
  const code = (error as { code?: unknown })?.code;
  const name = (error as { name?: unknown })?.name;
  const detail = [typeof name === 'string' ? name : 'error', typeof code === 'string' ? code : undefined]
    .filter(Boolean)
    .join(' ');
  const network =
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|EPIPE)$/.test(code);
  const message = `the ${type} provider failed in ${operation} (${detail})`;
  return network ? new ProviderUnavailable(message) : new ProviderError(message);
}

function withTimeout<T>(promise: Promise<T>, ms: number, type: string, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new ProviderUnavailable(`the ${type} provider did not answer ${operation} within ${ms} ms`)),
      ms,
    );
    timer.unref?.();
  });
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
    w.ciphertext.length === 0
  ) {
    throw new ProviderError(
      `the ${type} provider returned a malformed wrapped key (key id, version and ciphertext are required)`,
    );
  }
  return { keyId: w.keyId, version: w.version, ciphertext: w.ciphertext };
}

function checkDataKeyLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < MIN_DATA_KEY || length > MAX_DATA_KEY) {
    throw new InvalidArgument(`data keys are ${MIN_DATA_KEY} to ${MAX_DATA_KEY} bytes`);
  }
}

/** A provider behind the guard: every operation exists (unsupported ones throw UnsupportedOperation). */
export type GuardedProvider = Required<KeyProvider>;

/** Wraps `provider` so that the core's rules hold whatever the adapter does. */
export function guardProvider(provider: KeyProvider, options: GuardOptions = {}): GuardedProvider {
  if (provider === null || typeof provider !== 'object')
    throw new ProviderError('a provider must be an object');
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
  const timeoutMs = options.timeoutMs ?? 15_000;
  let closed = false;
  let closing: Promise<void> | undefined;

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw new Closed(`the ${type} provider is closed`);
    try {
      return await withTimeout(Promise.resolve().then(run), timeoutMs, type, operation);
    } catch (error) {
      throw mapError(type, operation, error);
    }
  }

  function checkUnwrapInput(input: UnwrapKeyInput): UnwrapKeyInput {
    checkKeyId(input.keyId);
    checkVersion(input.version, 'key version');
    if (!isBytes(input.ciphertext) || input.ciphertext.length === 0)
      throw new InvalidArgument('ciphertext must be bytes');
    return { ...input, context: normalizeContext(input.context, { allowReserved: true }) };
  }

  /** Sends `inputs` in batches; checks each answer; an item's failure stays in its slot. */
  async function inBatches<R>(
    inputs: readonly UnwrapKeyInput[],
    operation: string,
    send: (batch: readonly UnwrapKeyInput[]) => Promise<(unknown | Error)[]>,
    check: (out: unknown) => R,
  ): Promise<(R | Error)[]> {
    const results: (R | Error)[] = [];
    for (let i = 0; i < inputs.length; i += BATCH_SIZE) {
      const batch = inputs.slice(i, i + BATCH_SIZE);
      const answers = await call(operation, () => send(batch));
      if (!Array.isArray(answers) || answers.length !== batch.length) {
        throw new ProviderError(
          `the ${type} provider answered ${operation} with the wrong number of results`,
        );
      }
      for (const answer of answers) {
        if (answer instanceof Error) {
          results.push(mapError(type, operation, answer));
          continue;
        }
        try {
          results.push(check(answer));
        } catch (error) {
          results.push(error as Error);
        }
      }
    }
    return results;
  }

  function requireCapability(c: Capability): void {
    if (!capabilities[c]) throw new UnsupportedOperation(`the ${type} provider does not support ${c}`);
  }

  const guarded: GuardedProvider = {
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
      checkKeyId(input.keyId);
      checkVersion(input.version, 'key version');
      if (!isBytes(input.ciphertext) || input.ciphertext.length === 0)
        throw new InvalidArgument('ciphertext must be bytes');
      const context = normalizeContext(input.context, { allowReserved: true });
      const out = await call('unwrapKey', () => provider.unwrapKey({ ...input, context }));
      if (!isBytes(out) || out.length < MIN_DATA_KEY || out.length > MAX_DATA_KEY) {
        throw new ProviderError(`the ${type} provider returned a data key of the wrong size`);
      }
      return out;
    },

    async generateDataKey(input) {
      checkKeyId(input.keyId);
      checkDataKeyLength(input.length);
      const context = normalizeContext(input.context, { allowReserved: true });
      let out: DataKey;
      if (capabilities.generateDataKey && provider.generateDataKey !== undefined) {
        const generate = provider.generateDataKey.bind(provider);
        out = await call('generateDataKey', () =>
          generate({ keyId: input.keyId, length: input.length, context }),
        );
      } else {
        const { randomBytes } = await import('node:crypto');
        const plaintext = new Uint8Array(randomBytes(input.length));
        const wrapped = await call('wrapKey', () =>
          provider.wrapKey({ keyId: input.keyId, plaintext, context }),
        );
        out = { plaintext, wrapped };
      }
      if (!isBytes(out?.plaintext) || out.plaintext.length !== input.length) {
        throw new ProviderError(`the ${type} provider returned a data key of the wrong size`);
      }
      return { plaintext: out.plaintext, wrapped: checkWrapped(type, out.wrapped) };
    },

    async rewrapKey(input) {
      checkKeyId(input.keyId);
      checkVersion(input.version, 'key version');
      const context = normalizeContext(input.context, { allowReserved: true });
      if (capabilities.rewrapKey && provider.rewrapKey !== undefined) {
        const rewrap = provider.rewrapKey.bind(provider);
        return checkWrapped(type, await call('rewrapKey', () => rewrap({ ...input, context })));
      }
      // No server-side re-wrap: unwrap and wrap again here, the data key never leaving this process.
      const plaintext = await guarded.unwrapKey({ ...input, context });
      try {
        return await guarded.wrapKey({ keyId: input.keyId, plaintext, context });
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
      return inBatches(checked, 'unwrapKeys', unwrap, (out) => {
        if (!isBytes(out) || out.length < MIN_DATA_KEY || out.length > MAX_DATA_KEY) {
          throw new ProviderError(`the ${type} provider returned a data key of the wrong size`);
        }
        return out;
      });
    },

    async rewrapKeys(inputs) {
      const checked = inputs.map(checkUnwrapInput);
      const rewrap = provider.rewrapKeys?.bind(provider);
      if (!capabilities.batch || rewrap === undefined) {
        return settleLimit(checked, CONCURRENCY, (input) => guarded.rewrapKey(input));
      }
      return inBatches(checked, 'rewrapKeys', rewrap, (out) => checkWrapped(type, out));
    },

    async getKey(keyId, version) {
      requireCapability('getKey');
      checkKeyId(keyId);
      if (version !== undefined) checkVersion(version, 'key version');
      const out = (await call('getKey', () =>
        (provider.getKey as NonNullable<KeyProvider['getKey']>)(keyId, version),
      )) as KeyMaterial;
      if (!isBytes(out?.material) || out.material.length !== 32 || !Number.isSafeInteger(out.version)) {
        throw new ProviderError(`the ${type} provider returned malformed key material`);
      }
      return { keyId, version: out.version, material: out.material };
    },

    async createKey(keyId, opts) {
      requireCapability('createKey');
      checkKeyId(keyId);
      return call('createKey', () =>
        (provider.createKey as NonNullable<KeyProvider['createKey']>)(keyId, opts),
      );
    },

    async importKey(keyId, material, opts) {
      requireCapability('importKey');
      checkKeyId(keyId);
      if (!isBytes(material) || material.length !== 32)
        throw new InvalidArgument('key material must be 32 bytes');
      return call('importKey', () =>
        (provider.importKey as NonNullable<KeyProvider['importKey']>)(keyId, material, opts),
      );
    },

    async listKeys() {
      requireCapability('listKeys');
      return call('listKeys', () => (provider.listKeys as NonNullable<KeyProvider['listKeys']>)());
    },

    async listVersions(keyId) {
      requireCapability('listVersions');
      checkKeyId(keyId);
      return call('listVersions', () =>
        (provider.listVersions as NonNullable<KeyProvider['listVersions']>)(keyId),
      );
    },

    async rotateKey(keyId) {
      requireCapability('rotateKey');
      checkKeyId(keyId);
      return call('rotateKey', () => (provider.rotateKey as NonNullable<KeyProvider['rotateKey']>)(keyId));
    },

    async deleteKey(keyId, opts) {
      requireCapability('deleteKey');
      checkKeyId(keyId);
      return call('deleteKey', () =>
        (provider.deleteKey as NonNullable<KeyProvider['deleteKey']>)(keyId, opts),
      );
    },

    close() {
      if (closing === undefined) {
        closed = true;
        closing = Promise.resolve()
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
