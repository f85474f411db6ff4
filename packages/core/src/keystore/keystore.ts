import { timingSafeEqual } from 'node:crypto';
import { Fernet } from '../ciphers/fernet/fernet.js';
import { nowSeconds } from '../ciphers/fernet/time.js';
import { IV_LENGTH } from '../ciphers/fernet/token-format.js';
import { checkPayloadSize, MAX_PAYLOAD_BYTES } from '../ciphers/payload-limit.js';
import {
  contextDigest,
  type EncryptionContext,
  normalizeContext,
  withReservedEntry,
} from '../context/encryption-context.js';
import { type Data, notData, toBuffer } from '../encoding/bytes.js';
import {
  type EnvelopeAlgorithm,
  type EnvelopeHeader,
  formatEnvelope,
  isCanonicalPayload,
  type ParsedEnvelope,
  parseEnvelope,
  parseEnvelopeHeader,
} from '../envelope/envelope-format.js';
import { InvalidToken } from '../errors/invalid-token.js';
import { InvalidArgument, KeyNotFound, ProviderError } from '../errors/keystore-error.js';
import { type GuardedProvider, type GuardOptions, guardProvider } from '../provider/guard-provider.js';
import type {
  KeyMetadata,
  KeyProvider,
  KeyVersionInfo,
  UnwrapKeyInput,
  WrappedKey,
} from '../provider/key-provider.js';
import { nextIv } from '../random/iv-pool.js';
import {
  checkArgument,
  checkOptions,
  isContext,
  isFunction,
  isObject,
  isPlainObject,
  isString,
  kindOf,
  type OptionSpec,
} from '../util/check-options.js';
import { settleLimit } from '../util/settle-limit.js';
import { writeFernetEnvelope } from './envelope-writer.js';
import { KeyPolicy } from './key-policy.js';

export { MAX_PAYLOAD_BYTES } from '../ciphers/payload-limit.js';

const DATA_KEY_LENGTH = 32;

export interface KeystoreOptions extends GuardOptions {
  readonly provider: KeyProvider;
  /** The key `encrypt` uses when none is named. */
  readonly defaultKey?: string;
  /** Keys this keystore may use besides `defaultKey`: ids, prefixes ending in `*`, or `'*'` for all. */
  readonly allowedKeys?: readonly string[] | '*';
}

export interface EncryptOptions {
  /** The master key id; `defaultKey` when absent. */
  readonly key?: string;
  /** Bound to the envelope: decrypt must be given the same context. */
  readonly context?: EncryptionContext;
}

export interface DecryptOptions {
  /** The context the caller expects; decrypt fails unless the envelope was made with exactly it. */
  readonly context?: EncryptionContext;
}

/** One envelope of a bulk call, with its own context (else the call's). */
export interface BulkItem {
  readonly envelope: string;
  readonly context?: EncryptionContext;
}

/** A bulk call's outcome for one item: one failure never loses the others. */
export type BulkResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: Error };

export interface BulkOptions extends DecryptOptions {
  /** Called after each chunk with the count done so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Up to this many bytes, an envelope is joined from its token rather than written piece by piece. */
const SMALL_PAYLOAD = 64 * 1024;

/** Envelopes per chunk of a bulk call (the provider batches within a chunk). */
const BULK_CHUNK = 500;
/**
 * Chunks of a bulk call in progress at once: the next chunk's envelopes are
 * opened, and its backend requests sent, while the previous one's are out.
 */
const BULK_CHUNKS_IN_FLIGHT = 2;
/** Local re-wraps in flight at once in a bulk re-encryption. */
const REWRAP_CONCURRENCY = 16;

const KEYSTORE_OPTIONS: OptionSpec = {
  provider: isObject,
  defaultKey: isString,
  allowedKeys: {
    expected: "an array of strings or '*'",
    test: (v) => v === '*' || (Array.isArray(v) && v.every((p) => typeof p === 'string')),
  },
  timeoutMs: { expected: 'a positive number of milliseconds', test: (v) => typeof v === 'number' && v > 0 },
};
const ENCRYPT_OPTIONS: OptionSpec = { key: isString, context: isContext };
const DECRYPT_OPTIONS: OptionSpec = { context: isContext };
const BULK_OPTIONS: OptionSpec = { context: isContext, onProgress: isFunction };
const BULK_ITEM: OptionSpec = { envelope: isString, context: isContext };
const CREATE_KEY_OPTIONS: OptionSpec = { description: isString };

/** The envelope argument: a string (what is inside it is InvalidToken's business). */
function checkEnvelope(where: string, envelope: unknown): void {
  checkArgument(where, 'envelope', envelope, isString);
}

/** A bulk call's item as envelope and context, or the InvalidArgument naming what is wrong with it. */
function bulkItem(
  where: string,
  item: unknown,
  fallback: EncryptionContext | undefined,
): { envelope: string; context: EncryptionContext | undefined } {
  if (typeof item === 'string') return { envelope: item, context: fallback };
  if (!isPlainObject(item)) {
    throw new InvalidArgument(
      `${where} must be an envelope string or a plain object { envelope, context }, got ${kindOf(item)}`,
    );
  }
  checkOptions(where, item, BULK_ITEM);
  if (typeof item.envelope !== 'string') {
    throw new InvalidArgument(`${where}.envelope must be a string, got ${kindOf(item.envelope)}`);
  }
  const context = (item.context ?? fallback) as EncryptionContext | undefined;
  return { envelope: item.envelope as string, context };
}

/** What an envelope says about itself, readable without any key. */
export interface EnvelopeInfo {
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  readonly algorithm: EnvelopeAlgorithm;
}

/**
 * What the provider binds a data key to: the caller's context plus the
 * payload algorithm, so an envelope edited to claim another algorithm does
 * not unwrap.
 */
function wrapContext(context: EncryptionContext, algorithm: EnvelopeAlgorithm): EncryptionContext {
  return withReservedEntry(context, 'keystore:alg', algorithm);
}

/**
 * Runs `use` with the payload cipher of an unwrapped data key, whose copy of
 * the key is zeroed afterwards (the data key itself is the caller's to zero).
 * A key of the wrong size cannot be ours: InvalidToken.
 */
function withPayloadCipher<T>(dataKey: Uint8Array, use: (fernet: Fernet) => T): T {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new InvalidToken();
  const fernet = Fernet.forDataKey(dataKey);
  try {
    return use(fernet);
  } finally {
    fernet.destroy();
  }
}

/** Checks the payload's MAC under the data key: InvalidToken unless it is the one this key made. */
function checkPayload(dataKey: Uint8Array, payload: string): void {
  withPayloadCipher(dataKey, (fernet) => fernet.extractTimestamp(payload));
}

/**
 * The keystore: envelope encryption over one provider. Every message gets a
 * fresh data key; the provider wraps it under a named master key; the
 * envelope carries the wrapped key, provider type, key id, key version and
 * a digest of the context.
 */
export class Keystore {
  /** The provider, behind the guard; private so the key policy cannot be stepped around. */
  readonly #provider: GuardedProvider;
  /** The provider type envelopes of this keystore name. */
  readonly providerType: string;
  readonly defaultKey: string | undefined;
  readonly #policy: KeyPolicy;

  constructor(options: KeystoreOptions) {
    checkOptions('Keystore', options, KEYSTORE_OPTIONS);
    if (options?.provider === undefined) throw new InvalidArgument('Keystore needs a provider');
    this.#provider = guardProvider(options.provider, options);
    this.providerType = this.#provider.type;
    this.defaultKey = options.defaultKey;
    this.#policy = new KeyPolicy(options.defaultKey, options.allowedKeys);
  }

  /**
   * Encrypts `data` (bytes, or a string as UTF-8) into an envelope string.
   * At most `MAX_PAYLOAD_BYTES` (256 MiB); larger data is refused before
   * any work. Memory: the envelope is 4/3 of the data, and encrypting holds
   * about twice that at its peak, besides the data itself.
   */
  async encrypt(data: Data, options: EncryptOptions = {}): Promise<string> {
    checkOptions('encrypt', options, ENCRYPT_OPTIONS);
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: only long strings need their bytes counted.
    if (typeof data === 'string') {
      if (data.length > MAX_PAYLOAD_BYTES / 3) checkPayloadSize('encrypt', Buffer.byteLength(data, 'utf8'));
    } else if (data instanceof Uint8Array) checkPayloadSize('encrypt', data.byteLength);
    else throw notData(data, 'encrypt');
    // A string stays a string: the envelope writer encodes it piece by piece.
    const plaintext = typeof data === 'string' ? data : toBuffer(data, 'encrypt');
    const keyId = options.key ?? this.defaultKey;
    if (keyId === undefined) throw new InvalidArgument('no key named and no defaultKey configured');
    this.#policy.check(keyId);
    const context = normalizeContext(options.context);
    const algorithm: EnvelopeAlgorithm = 'fernet';
    const dataKey = await this.#provider.generateDataKey({
      keyId,
      length: DATA_KEY_LENGTH,
      context: wrapContext(context, algorithm),
    });
    let fernet: Fernet;
    try {
      fernet = Fernet.forDataKey(dataKey.plaintext);
    } finally {
      dataKey.plaintext.fill(0);
    }
    try {
      const header: EnvelopeHeader = {
        provider: this.#provider.type,
        keyId,
        version: dataKey.wrapped.version,
        algorithm,
        contextDigest: contextDigest(context),
        wrappedKey: dataKey.wrapped.ciphertext,
      };
      // Small (a string: at most 3 UTF-8 bytes a unit): the token in the shared scratch buffer,
      // then the envelope text joined, a few KiB.
      if (
        typeof plaintext === 'string'
          ? plaintext.length <= SMALL_PAYLOAD / 3
          : plaintext.length <= SMALL_PAYLOAD
      ) {
        const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
        return formatEnvelope(header, fernet.encryptFromParts(bytes, nowSeconds(), nextIv(IV_LENGTH)));
      }
      // Large: written in one buffer, not `formatEnvelope(header, fernet.encrypt(...))`: see envelope-writer.ts.
      return writeFernetEnvelope(header, fernet, plaintext, nowSeconds(), nextIv(IV_LENGTH));
    } finally {
      fernet.destroy();
    }
  }

  /**
   * Decrypts an envelope. Fails with `InvalidToken` unless the envelope was
   * made with exactly `options.context`, with `AccessDenied` when it names a
   * key the configuration does not allow, with `KeyNotFound` when it was made
   * by another provider type or its key is gone.
   */
  async decrypt(envelope: string, options: DecryptOptions = {}): Promise<Uint8Array> {
    checkEnvelope('decrypt', envelope);
    checkOptions('decrypt', options, DECRYPT_OPTIONS);
    const { header, payload, context } = this.#open(envelope, options);
    const dataKey = await this.#provider.unwrapKey({
      keyId: header.keyId,
      version: header.version,
      ciphertext: header.wrappedKey,
      context: wrapContext(context, header.algorithm),
    });
    try {
      return withPayloadCipher(dataKey, (fernet) => fernet.decrypt(payload));
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Moves an envelope to the newest version of its key: the data key is
   * re-wrapped (by the backend when it can, KMS ReEncrypt or Vault rewrap),
   * the payload is kept as it is, and the plaintext is never exposed.
   * Where the data key is at hand (the provider has no server-side re-wrap),
   * the payload is checked under it first: a corrupted record fails with
   * `InvalidToken` instead of leaving with a fresh-looking envelope.
   */
  async reencrypt(envelope: string, options: DecryptOptions = {}): Promise<string> {
    checkEnvelope('reencrypt', envelope);
    checkOptions('reencrypt', options, DECRYPT_OPTIONS);
    const opened = this.#open(envelope, options);
    const input = this.#unwrapInput(opened);
    const wrapped = this.#provider.capabilities.rewrapKey
      ? await this.#rewrapOnBackend(input, opened.payload)
      : await this.#rewrapChecked(input, opened.payload);
    return this.#rewrapped(opened, wrapped);
  }

  /** A server-side re-wrap: the payload is not decrypted, so its encoding is checked here before it is carried over. */
  #rewrapOnBackend(input: UnwrapKeyInput, payload: string): Promise<WrappedKey> {
    if (!isCanonicalPayload(payload)) throw new InvalidToken();
    return this.#provider.rewrapKey(input);
  }

  /** Unwraps, checks the payload's MAC under the data key, wraps the same data key under the newest version. */
  async #rewrapChecked(input: UnwrapKeyInput, payload: string): Promise<WrappedKey> {
    const dataKey = await this.#provider.unwrapKey(input);
    try {
      checkPayload(dataKey, payload);
      return await this.#rewrapLocally(input, dataKey);
    } finally {
      dataKey.fill(0);
    }
  }

  async #rewrapLocally(input: UnwrapKeyInput, dataKey: Uint8Array): Promise<WrappedKey> {
    const wrapped = await this.#provider.wrapKey({
      keyId: input.keyId,
      plaintext: dataKey,
      context: input.context,
    });
    if (wrapped.version < input.version) {
      throw new ProviderError(`the ${this.providerType} provider re-wrapped a key to an older version`);
    }
    return wrapped;
  }

  #rewrapped(opened: ParsedEnvelope, wrapped: WrappedKey): string {
    return formatEnvelope(
      { ...opened.header, version: wrapped.version, wrappedKey: wrapped.ciphertext },
      opened.payload,
    );
  }

  /**
   * Decrypts many envelopes; the provider unwraps their data keys in
   * batches (one backend request per batch where it can).
   */
  decryptMany(
    items: readonly (string | BulkItem)[],
    options: BulkOptions = {},
  ): Promise<BulkResult<Uint8Array>[]> {
    return this.#bulk('decryptMany', items, options, async (opened) => {
      const keys = await this.#provider.unwrapKeys(opened.map((o) => this.#unwrapInput(o)));
      return opened.map((o, i) => {
        const key = keys[i];
        if (key instanceof Error || key === undefined) return key ?? new InvalidToken();
        try {
          return withPayloadCipher(key, (fernet) => fernet.decrypt(o.payload));
        } catch (error) {
          return error as Error;
        } finally {
          key.fill(0);
        }
      });
    });
  }

  /**
   * Moves many envelopes to the newest versions of their keys, re-wrapping
   * their data keys in batches (Vault `batch_input`) without exposing any
   * plaintext. Where the data keys are at hand (no server-side re-wrap),
   * they are unwrapped in batches and each payload is checked before its
   * key is wrapped again, so a corrupted row fails in its own slot. Each
   * result is the new envelope or the item's error.
   */
  reencryptMany(
    items: readonly (string | BulkItem)[],
    options: BulkOptions = {},
  ): Promise<BulkResult<string>[]> {
    return this.#bulk('reencryptMany', items, options, async (opened) => {
      const inputs = opened.map((o) => this.#unwrapInput(o));
      if (this.#provider.capabilities.rewrapKey) {
        // Server-side re-wraps carry the payloads over unread: only canonical ones go.
        const canonical = opened.map((o) => isCanonicalPayload(o.payload));
        const sent = inputs.filter((_, i) => canonical[i]);
        const answers = sent.length === 0 ? [] : await this.#provider.rewrapKeys(sent);
        let next = 0;
        const wrapped = canonical.map((ok) => (ok ? answers[next++] : new InvalidToken()));
        return opened.map((o, i) => {
          const w = wrapped[i];
          if (w instanceof Error || w === undefined) return w ?? new InvalidToken();
          return this.#rewrapped(o, w);
        });
      }
      const keys = await this.#provider.unwrapKeys(inputs);
      return settleLimit(opened, REWRAP_CONCURRENCY, async (o, i) => {
        const key = keys[i];
        if (key instanceof Error || key === undefined) throw key ?? new InvalidToken();
        try {
          checkPayload(key, o.payload);
          return this.#rewrapped(o, await this.#rewrapLocally(inputs[i] as UnwrapKeyInput, key));
        } finally {
          key.fill(0);
        }
      });
    });
  }

  async #bulk<T>(
    where: string,
    items: readonly (string | BulkItem)[],
    options: BulkOptions,
    run: (opened: (ParsedEnvelope & { context: EncryptionContext })[]) => Promise<(T | Error)[]>,
  ): Promise<BulkResult<T>[]> {
    if (!Array.isArray(items))
      throw new InvalidArgument(`${where}: items must be an array, got ${kindOf(items)}`);
    checkOptions(where, options, BULK_OPTIONS);
    const results: BulkResult<T>[] = [];
    const pending: Promise<BulkResult<T>[]>[] = [];
    let start = 0;
    const launch = () => {
      pending.push(this.#bulkChunk(where, items, start, options, run));
      start += BULK_CHUNK;
    };
    while (start < items.length && pending.length < BULK_CHUNKS_IN_FLIGHT) launch();
    // Chunks finish in order for the caller: results and progress are reported chunk by chunk.
    for (let chunk = pending.shift(); chunk !== undefined; chunk = pending.shift()) {
      results.push(...(await chunk));
      options.onProgress?.(results.length, items.length);
      if (start < items.length) launch();
    }
    return results;
  }

  /** One chunk of a bulk call; never rejects: every item gets its result or its error. */
  async #bulkChunk<T>(
    where: string,
    items: readonly (string | BulkItem)[],
    start: number,
    options: BulkOptions,
    run: (opened: (ParsedEnvelope & { context: EncryptionContext })[]) => Promise<(T | Error)[]>,
  ): Promise<BulkResult<T>[]> {
    const chunk = items.slice(start, start + BULK_CHUNK);
    const opened: (ParsedEnvelope & { context: EncryptionContext })[] = [];
    const slots: (number | Error)[] = chunk.map((item, i) => {
      try {
        const { envelope, context } = bulkItem(`${where}: items[${start + i}]`, item, options.context);
        opened.push(this.#open(envelope, { ...(context === undefined ? {} : { context }) }));
        return opened.length - 1;
      } catch (error) {
        return error as Error;
      }
    });
    let outcomes: (T | Error)[];
    try {
      outcomes = opened.length === 0 ? [] : await run(opened);
    } catch (error) {
      // The whole chunk failed (closed, timed out): each of its items says so; other chunks' results stay.
      outcomes = opened.map(() => (error instanceof Error ? error : new InvalidToken()));
    }
    return slots.map((slot) => {
      const outcome: T | Error = slot instanceof Error ? slot : (outcomes[slot] ?? new InvalidToken());
      return outcome instanceof Error ? { ok: false, error: outcome } : { ok: true, value: outcome };
    });
  }

  #unwrapInput(o: ParsedEnvelope & { context: EncryptionContext }) {
    return {
      keyId: o.header.keyId,
      version: o.header.version,
      ciphertext: o.header.wrappedKey,
      context: wrapContext(o.context, o.header.algorithm),
    };
  }

  /** The provider type, key id, key version and algorithm an envelope names; no key needed. */
  inspect(envelope: string): EnvelopeInfo {
    checkEnvelope('inspect', envelope);
    const { header } = parseEnvelope(envelope);
    return {
      provider: header.provider,
      keyId: header.keyId,
      version: header.version,
      algorithm: header.algorithm,
    };
  }

  /** Adds a new version of `keyId`; new encryptions use it, old versions still decrypt. */
  async rotate(keyId: string): Promise<KeyMetadata> {
    checkArgument('rotate', 'keyId', keyId, isString);
    this.#policy.check(keyId);
    return this.#provider.rotateKey(keyId);
  }

  async createKey(keyId: string, options?: { description?: string }): Promise<KeyMetadata> {
    checkArgument('createKey', 'keyId', keyId, isString);
    checkOptions('createKey', options, CREATE_KEY_OPTIONS);
    this.#policy.check(keyId);
    return this.#provider.createKey(keyId, options);
  }

  /** What the provider supports (see `ProviderCapabilities`). */
  get capabilities(): GuardedProvider['capabilities'] {
    return this.#provider.capabilities;
  }

  /** The provider's keys that this keystore may use. */
  async listKeys(): Promise<KeyMetadata[]> {
    return (await this.#provider.listKeys()).filter((k) => this.#policy.allows(k.keyId));
  }

  async listVersions(keyId: string): Promise<KeyVersionInfo[]> {
    checkArgument('listVersions', 'keyId', keyId, isString);
    this.#policy.check(keyId);
    return this.#provider.listVersions(keyId);
  }

  /** Closes the provider. Idempotent. */
  close(): Promise<void> {
    return this.#provider.close();
  }

  /** The envelope's header checked against this keystore; its payload is checked where it is used. */
  #open(envelope: string, options: DecryptOptions): ParsedEnvelope & { context: EncryptionContext } {
    const parsed = parseEnvelopeHeader(envelope);
    const { header } = parsed;
    if (header.provider !== this.#provider.type) {
      throw new KeyNotFound(
        `the envelope was made by the '${header.provider}' provider; this keystore uses '${this.#provider.type}'`,
      );
    }
    this.#policy.check(header.keyId);
    const context = normalizeContext(options.context);
    const digest = contextDigest(context);
    if (!timingSafeEqual(digest, header.contextDigest)) throw new InvalidToken();
    return { ...parsed, context };
  }
}
