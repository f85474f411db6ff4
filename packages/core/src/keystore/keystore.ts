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
import { type EnvelopeAlgorithm, isCanonicalPayload } from '../envelope/envelope-format.js';
import { envelopeHead, parseEnvelopeParts } from '../envelope/envelope-parts.js';
import { keyCommitment } from '../envelope/key-commitment.js';
import { type EnvelopeRecipient, MAX_RECIPIENTS, sameKey } from '../envelope/multi-envelope-format.js';
import { InvalidToken } from '../errors/invalid-token.js';
import {
  AccessDenied,
  InvalidArgument,
  isKeystoreError,
  KeystoreError,
  ProviderError,
} from '../errors/keystore-error.js';
import type { GuardedProvider, GuardOptions } from '../provider/guard-provider.js';
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
import {
  type OpenedEnvelope,
  openDataKey,
  openDataKeys,
  openDataKeyWith,
  ownerOf,
  unwrapInput,
} from './open-data-key.js';
import {
  buildRecipients,
  type Candidate,
  candidatesFor,
  type KeystoreRecipient,
  noCandidateError,
  orderRecipients,
  type Recipient,
  singleRecipient,
} from './recipients.js';

export { MAX_PAYLOAD_BYTES } from '../ciphers/payload-limit.js';

const DATA_KEY_LENGTH = 32;

export type { KeystoreRecipient } from './recipients.js';

/**
 * A keystore over one provider (`provider`, with `defaultKey` and
 * `allowedKeys`), or over several recipients (`recipients`): then every
 * envelope's data key is wrapped under each recipient's key, and any one of
 * them opens it.
 */
export interface KeystoreOptions extends GuardOptions {
  readonly provider?: KeyProvider;
  /** The key `encrypt` uses when none is named. */
  readonly defaultKey?: string;
  /** Keys this keystore may use besides `defaultKey`: ids, prefixes ending in `*`, or `'*'` for all. */
  readonly allowedKeys?: readonly string[] | '*';
  /** Instead of `provider`: 1 to 16 recipients, in the order encryption wraps for them. */
  readonly recipients?: readonly KeystoreRecipient[];
  /** The order decrypt tries the recipients in, by name (default: as listed). */
  readonly decryptOrder?: readonly string[];
}

/** One recipient of an envelope, as `inspect` reports it. */
export interface EnvelopeRecipientInfo {
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
}

/** What an envelope says about itself, readable without any key. */
export interface EnvelopeInfo {
  /** The first recipient's provider type, key id and key version. */
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  readonly algorithm: EnvelopeAlgorithm;
  /** The envelope format: 1 for one recipient, 2 for several. */
  readonly format: 1 | 2;
  /** Every recipient, in the envelope's order. */
  readonly recipients: readonly EnvelopeRecipientInfo[];
}

/** A configured recipient, as `Keystore.recipients` lists it. */
export interface RecipientInfo {
  readonly name: string;
  readonly provider: string;
  readonly key: string | undefined;
}

/** What a cache in front of one recipient's provider reports (`Keystore.cacheStats`). */
export interface RecipientCacheStats {
  /** The recipient's name (the provider type in a keystore of one provider). */
  readonly recipient: string;
  readonly provider: string;
  /** The cache's own figures, as its package documents them (`@keystore/redis`: `CachedProviderStats`). */
  readonly stats: unknown;
}

/** Which recipient a management call is for, in a keystore of several. */
export interface RecipientOption {
  readonly recipient?: string;
}

/** Options of `addRecipient`: the context, and a key other than the recipient's own. */
export interface AddRecipientOptions extends DecryptOptions {
  readonly key?: string;
}

/** An envelope's recipient to remove: a configured recipient's name, or a provider type and key id. */
export type RecipientRef = string | { readonly provider: string; readonly keyId: string };

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
  recipients: { expected: 'an array of recipients', test: Array.isArray },
  decryptOrder: {
    expected: 'an array of recipient names',
    test: (v) => Array.isArray(v) && v.every((n) => typeof n === 'string'),
  },
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
const CREATE_KEY_OPTIONS: OptionSpec = { description: isString, recipient: isString };
const RECIPIENT_OPTIONS: OptionSpec = { recipient: isString };
const ADD_RECIPIENT_OPTIONS: OptionSpec = { context: isContext, key: isString };
const ADD_RECIPIENT_BULK_OPTIONS: OptionSpec = { ...BULK_OPTIONS, key: isString };

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

/** Each recipient's result, or the first failure with its recipient named. */
function settledOrThrow<T>(results: PromiseSettledResult<T>[], label: (i: number) => string): T[] {
  return results.map((r, i) => {
    if (r.status === 'fulfilled') return r.value;
    throw forRecipient(label(i), r.reason);
  });
}

/** A recipient's error with the recipient named in front; its code is kept. */
function forRecipient(label: string, error: unknown): Error {
  if (error instanceof InvalidToken) return error;
  if (!isKeystoreError(error)) return error instanceof Error ? error : new ProviderError(`${label} failed`);
  return new KeystoreError(error.code, `${label}: ${error.message}`, { cause: error });
}

/**
 * The keystore: envelope encryption over one provider, or over several
 * recipients. Every message gets a fresh data key; the provider (each
 * recipient's) wraps it under a named master key; the envelope carries the
 * wrapped key(s), provider type, key id, key version and a digest of the
 * context.
 */
export class Keystore {
  /** The recipients in the order encryption wraps for them; one for a keystore over one provider. */
  readonly #recipients: readonly Recipient[];
  /** The same recipients in the order decrypt tries them. */
  readonly #decryptOrder: readonly Recipient[];
  /** The provider type of the first recipient (the only one of a keystore over one provider). */
  readonly providerType: string;
  /** The first recipient's key. */
  readonly defaultKey: string | undefined;

  constructor(options: KeystoreOptions) {
    checkOptions('Keystore', options, KEYSTORE_OPTIONS);
    const guard = options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    if (options?.recipients !== undefined) {
      if (
        options.provider !== undefined ||
        options.defaultKey !== undefined ||
        options.allowedKeys !== undefined
      ) {
        throw new InvalidArgument(
          'Keystore: give either provider (with defaultKey, allowedKeys) or recipients, not both',
        );
      }
      this.#recipients = buildRecipients(options.recipients, guard);
    } else {
      if (options?.provider === undefined)
        throw new InvalidArgument('Keystore needs a provider (or recipients)');
      if (options.decryptOrder !== undefined) {
        throw new InvalidArgument('Keystore: decryptOrder goes with recipients');
      }
      this.#recipients = [singleRecipient(options.provider, options.defaultKey, options.allowedKeys, guard)];
    }
    this.#decryptOrder = orderRecipients(this.#recipients, options.decryptOrder);
    const first = this.#recipients[0] as Recipient;
    this.providerType = first.type;
    this.defaultKey = first.key;
  }

  /** The configured recipients, in the order encryption wraps for them. */
  get recipients(): readonly RecipientInfo[] {
    return this.#recipients.map((r) => ({ name: r.name, provider: r.type, key: r.key }));
  }

  /**
   * What the cache in front of each recipient's provider did so far (hits,
   * misses, errors: the cache's `stats()`, which the core's guard does not
   * pass on), one entry per recipient that has one; empty without a cache.
   */
  cacheStats(): readonly RecipientCacheStats[] {
    const out: RecipientCacheStats[] = [];
    for (const r of this.#recipients) {
      if (r.stats !== undefined) out.push({ recipient: r.name, provider: r.type, stats: r.stats() });
    }
    return out;
  }

  /**
   * Encrypts `data` (bytes, or a string as UTF-8) into an envelope string.
   * At most `MAX_PAYLOAD_BYTES` (256 MiB); larger data is refused before
   * any work. Memory: the envelope is 4/3 of the data, and encrypting holds
   * about twice that at its peak, besides the data itself. A keystore of
   * several recipients wraps the data key for each (the first generates it),
   * and fails unless every one did.
   */
  async encrypt(data: Data, options: EncryptOptions = {}): Promise<string> {
    checkOptions('encrypt', options, ENCRYPT_OPTIONS);
    // The data's size in bytes, counted once: for the limit, and for generateDataKey (plaintextBytes).
    let plaintextBytes: number;
    if (typeof data === 'string') {
      plaintextBytes = Buffer.byteLength(data, 'utf8');
      // UTF-8 takes 1 to 3 bytes per UTF-16 unit: only long strings can exceed the limit.
      if (data.length > MAX_PAYLOAD_BYTES / 3) checkPayloadSize('encrypt', plaintextBytes);
    } else if (data instanceof Uint8Array) {
      plaintextBytes = data.byteLength;
      checkPayloadSize('encrypt', plaintextBytes);
    } else throw notData(data, 'encrypt');
    // A string stays a string: the envelope writer encodes it piece by piece.
    const plaintext = typeof data === 'string' ? data : toBuffer(data, 'encrypt');
    const [first, ...others] = this.#recipients as [Recipient, ...Recipient[]];
    if (others.length > 0 && options.key !== undefined) {
      throw new InvalidArgument(
        'encrypt: this keystore wraps for its recipients, each under its own key: name none',
      );
    }
    const keyId = options.key ?? first.key;
    if (keyId === undefined) throw new InvalidArgument('no key named and no defaultKey configured');
    first.policy.check(keyId);
    const context = normalizeContext(options.context);
    const algorithm: EnvelopeAlgorithm = 'fernet';
    const bound = wrapContext(context, algorithm);
    const dataKey = await first.provider.generateDataKey({
      keyId,
      length: DATA_KEY_LENGTH,
      context: bound,
      plaintextBytes,
    });
    let fernet: Fernet;
    let recipients: EnvelopeRecipient[];
    let commitment: Uint8Array;
    try {
      // No await for a keystore of one provider: the common case takes no extra turn of the event loop.
      const wrapped =
        others.length === 0
          ? []
          : settledOrThrow(
              await Promise.allSettled(
                others.map((r) =>
                  r.provider.wrapKey({
                    keyId: r.key as string,
                    plaintext: dataKey.plaintext,
                    context: bound,
                  }),
                ),
              ),
              (i) => `recipient '${(others[i] as Recipient).name}'`,
            );
      recipients = [
        {
          provider: first.type,
          keyId,
          version: dataKey.wrapped.version,
          wrappedKey: dataKey.wrapped.ciphertext,
        },
        ...wrapped.map((w, i) => {
          const r = others[i] as Recipient;
          return { provider: r.type, keyId: r.key as string, version: w.version, wrappedKey: w.ciphertext };
        }),
      ];
      commitment = others.length === 0 ? EMPTY : keyCommitment(dataKey.plaintext);
      fernet = Fernet.forDataKey(dataKey.plaintext);
    } finally {
      dataKey.plaintext.fill(0);
    }
    try {
      const head = envelopeHead({ algorithm, contextDigest: contextDigest(context), commitment, recipients });
      // Small (a string: at most 3 UTF-8 bytes a unit): the token in the shared scratch buffer,
      // then the envelope text joined, a few KiB.
      if (
        typeof plaintext === 'string'
          ? plaintext.length <= SMALL_PAYLOAD / 3
          : plaintext.length <= SMALL_PAYLOAD
      ) {
        const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
        return head + fernet.encryptFromParts(bytes, nowSeconds(), nextIv(IV_LENGTH));
      }
      // Large: written in one buffer, not `head + fernet.encrypt(...)`: see envelope-writer.ts.
      return writeFernetEnvelope(head, fernet, plaintext, nowSeconds(), nextIv(IV_LENGTH));
    } finally {
      fernet.destroy();
    }
  }

  /**
   * Decrypts an envelope. Fails with `InvalidToken` unless the envelope was
   * made with exactly `options.context`, with `AccessDenied` when it names
   * only keys the configuration does not allow, with `KeyNotFound` when it
   * was made by other provider types or its key is gone. An envelope of
   * several recipients is opened by the first recipient, in the configured
   * order, that can; when none can, `NoRecipientOpened` lists what each said.
   */
  async decrypt(envelope: string, options: DecryptOptions = {}): Promise<Uint8Array> {
    checkEnvelope('decrypt', envelope);
    checkOptions('decrypt', options, DECRYPT_OPTIONS);
    const opened = this.#open(envelope, options);
    const dataKey = await openDataKey(opened);
    try {
      return withPayloadCipher(dataKey, (fernet) => fernet.decrypt(opened.payload));
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
   * An envelope of several recipients has every recipient this keystore
   * has re-wrapped under the newest version of its key (the others are kept
   * as they are); its data key is unwrapped once and its payload checked.
   */
  async reencrypt(envelope: string, options: DecryptOptions = {}): Promise<string> {
    checkEnvelope('reencrypt', envelope);
    checkOptions('reencrypt', options, DECRYPT_OPTIONS);
    return this.#reencryptOpened(this.#open(envelope, options));
  }

  #reencryptOpened(opened: OpenedEnvelope): Promise<string> {
    return opened.format === 1 ? this.#reencryptSingle(opened) : this.#reencryptEach(opened);
  }

  /**
   * A version 1 envelope: its one recipient re-wrapped by the provider that
   * holds it. When several configured recipients may hold it, the one whose
   * unwrap opens it is found first (`#reencryptEach`).
   */
  async #reencryptSingle(opened: OpenedEnvelope): Promise<string> {
    if (opened.candidates.length > 1) return this.#reencryptEach(opened);
    const { recipient, entry } = opened.candidates[0] as Candidate;
    const input = unwrapInput(entry, opened.wrapContext);
    const wrapped = recipient.provider.capabilities.rewrapKey
      ? await this.#rewrapOnBackend(recipient, input, opened.payload)
      : await this.#rewrapChecked(recipient, input, opened.payload);
    return this.#rewrapped(opened, entry, wrapped);
  }

  /**
   * The data key unwrapped once and checked; then each recipient of the
   * envelope that this keystore holds is wrapped again under the newest
   * version of its key by the recipient that holds it: the one whose unwrap
   * of that entry gives the same data key (two recipients of one provider
   * type may both allow a key id; only the backend that made it opens it).
   * Entries no configured recipient opens are kept as they are.
   */
  async #reencryptEach(opened: OpenedEnvelope): Promise<string> {
    const { key: dataKey, candidate: opener } = await openDataKeyWith(opened);
    try {
      checkPayload(dataKey, opened.payload);
      const owners = await Promise.all(
        opened.recipients.map(async (entry) => {
          if (entry === opener.entry) return opener.recipient;
          const candidates = opened.candidates.filter((c) => c.entry === entry);
          return (await ownerOf(opened, candidates, dataKey))?.recipient;
        }),
      );
      const wrapped = settledOrThrow(
        await Promise.allSettled(
          opened.recipients.map((entry, i) => {
            const owner = owners[i];
            return owner === undefined
              ? Promise.resolve(undefined)
              : this.#rewrapLocally(owner, unwrapInput(entry, opened.wrapContext), dataKey);
          }),
        ),
        (i) => `recipient '${owners[i]?.name}'`,
      );
      const recipients = opened.recipients.map((entry, i) => {
        const w = wrapped[i];
        return w === undefined ? entry : { ...entry, version: w.version, wrappedKey: w.ciphertext };
      });
      return this.#written(opened, recipients, opened.commitment ?? EMPTY);
    } finally {
      dataKey.fill(0);
    }
  }

  /** A server-side re-wrap: the payload is not decrypted, so its encoding is checked here before it is carried over. */
  #rewrapOnBackend(recipient: Recipient, input: UnwrapKeyInput, payload: string): Promise<WrappedKey> {
    if (!isCanonicalPayload(payload)) throw new InvalidToken();
    return recipient.provider.rewrapKey(input);
  }

  /** Unwraps, checks the payload's MAC under the data key, wraps the same data key under the newest version. */
  async #rewrapChecked(recipient: Recipient, input: UnwrapKeyInput, payload: string): Promise<WrappedKey> {
    const dataKey = await recipient.provider.unwrapKey(input);
    try {
      checkPayload(dataKey, payload);
      return await this.#rewrapLocally(recipient, input, dataKey);
    } finally {
      dataKey.fill(0);
    }
  }

  async #rewrapLocally(
    recipient: Recipient,
    input: UnwrapKeyInput,
    dataKey: Uint8Array,
  ): Promise<WrappedKey> {
    const wrapped = await recipient.provider.wrapKey({
      keyId: input.keyId,
      plaintext: dataKey,
      context: input.context,
    });
    if (wrapped.version < input.version) {
      throw new ProviderError(`the ${recipient.type} provider re-wrapped a key to an older version`);
    }
    return wrapped;
  }

  /** The envelope with one recipient's wrapped key replaced. */
  #rewrapped(opened: OpenedEnvelope, entry: EnvelopeRecipient, wrapped: WrappedKey): string {
    const recipients = opened.recipients.map((r) =>
      r === entry ? { ...r, version: wrapped.version, wrappedKey: wrapped.ciphertext } : r,
    );
    return this.#written(opened, recipients, opened.commitment ?? EMPTY);
  }

  /** A new head over the same payload: version 1 for one recipient, 2 for several. */
  #written(opened: OpenedEnvelope, recipients: readonly EnvelopeRecipient[], commitment: Uint8Array): string {
    const head = envelopeHead({
      algorithm: opened.algorithm,
      contextDigest: opened.contextDigest,
      commitment,
      recipients,
    });
    return head + opened.payload;
  }

  /**
   * Adds a recipient to an envelope: its data key, unwrapped with a
   * recipient this keystore has and checked against the payload, is wrapped
   * under `recipient`'s key (or `options.key`) and the header gets the new
   * recipient (replacing one for the same key). The payload and the other
   * recipients' wrapped keys are kept as they are. A version 1 envelope
   * becomes version 2.
   */
  async addRecipient(
    envelope: string,
    recipient: string,
    options: AddRecipientOptions = {},
  ): Promise<string> {
    checkEnvelope('addRecipient', envelope);
    checkArgument('addRecipient', 'recipient', recipient, isString);
    checkOptions('addRecipient', options, ADD_RECIPIENT_OPTIONS);
    const target = this.#recipientNamed('addRecipient', recipient);
    const keyId = this.#keyFor('addRecipient', target, options.key);
    return this.#addTo(this.#open(envelope, options), target, keyId);
  }

  async #addTo(opened: OpenedEnvelope, target: Recipient, keyId: string): Promise<string> {
    const dataKey = await openDataKey(opened);
    try {
      checkPayload(dataKey, opened.payload);
      const existing = opened.recipients.find((r) => r.provider === target.type && r.keyId === keyId);
      // The header holds one entry per (provider type, key id): replace one only if it is the target's own.
      if (existing !== undefined) {
        const own = await ownerOf(opened, [{ recipient: target, entry: existing }], dataKey);
        if (own === undefined) {
          throw new InvalidArgument(
            `addRecipient: the envelope has a recipient ${target.type} key '${keyId}' that recipient '${target.name}' does not hold (give each key its own id)`,
          );
        }
      }
      const wrapped = await target.provider.wrapKey({
        keyId,
        plaintext: dataKey,
        context: opened.wrapContext,
      });
      const added = {
        provider: target.type,
        keyId,
        version: wrapped.version,
        wrappedKey: wrapped.ciphertext,
      };
      const recipients = [...opened.recipients.filter((r) => !sameKey(r, added)), added];
      if (recipients.length > MAX_RECIPIENTS) {
        throw new InvalidArgument(`addRecipient: an envelope holds at most ${MAX_RECIPIENTS} recipients`);
      }
      return this.#written(opened, recipients, keyCommitment(dataKey));
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Removes a recipient from an envelope (a configured recipient's name, for
   * its key, or a provider type and key id). Refused unless a recipient left
   * still opens the envelope with this keystore, payload checked: an
   * envelope is never left that this configuration cannot read. An envelope
   * left with one recipient is written as version 1.
   */
  async removeRecipient(
    envelope: string,
    which: RecipientRef,
    options: DecryptOptions = {},
  ): Promise<string> {
    checkEnvelope('removeRecipient', envelope);
    checkOptions('removeRecipient', options, DECRYPT_OPTIONS);
    const target = this.#refOf('removeRecipient', which);
    return this.#removeFrom(this.#open(envelope, options), target);
  }

  async #removeFrom(opened: OpenedEnvelope, target: { provider: string; keyId: string }): Promise<string> {
    const left = opened.recipients.filter((r) => !sameKey(r, target));
    if (left.length === opened.recipients.length) {
      throw new InvalidArgument(
        `removeRecipient: the envelope has no recipient ${target.provider} key '${target.keyId}'`,
      );
    }
    if (left.length === 0)
      throw new InvalidArgument("removeRecipient: that is the envelope's only recipient");
    const candidates = candidatesFor(this.#decryptOrder, left);
    if (candidates.length === 0) {
      const why = noCandidateError(this.#decryptOrder, left);
      throw new KeystoreError(
        why.code,
        `removeRecipient: the recipients left are not this keystore's: ${why.message}`,
      );
    }
    const dataKey = await openDataKey(
      opened,
      candidates,
      'removeRecipient: no recipient left opens the envelope',
    );
    try {
      checkPayload(dataKey, opened.payload);
    } finally {
      dataKey.fill(0);
    }
    return this.#written(opened, left, opened.commitment ?? EMPTY);
  }

  /** `addRecipient` for many envelopes; each result is the new envelope or the item's error. */
  addRecipientMany(
    items: readonly (string | BulkItem)[],
    recipient: string,
    options: BulkOptions & { key?: string } = {},
  ): Promise<BulkResult<string>[]> {
    checkArgument('addRecipientMany', 'recipient', recipient, isString);
    checkOptions('addRecipientMany', options, ADD_RECIPIENT_BULK_OPTIONS);
    const target = this.#recipientNamed('addRecipientMany', recipient);
    const keyId = this.#keyFor('addRecipientMany', target, options.key);
    const { key: _key, ...bulk } = options;
    return this.#bulk('addRecipientMany', items, bulk, (opened) =>
      settleLimit(opened, REWRAP_CONCURRENCY, (o) => this.#addTo(o, target, keyId)),
    );
  }

  /** `removeRecipient` for many envelopes; each result is the new envelope or the item's error. */
  removeRecipientMany(
    items: readonly (string | BulkItem)[],
    which: RecipientRef,
    options: BulkOptions = {},
  ): Promise<BulkResult<string>[]> {
    const target = this.#refOf('removeRecipientMany', which);
    return this.#bulk('removeRecipientMany', items, options, (opened) =>
      settleLimit(opened, REWRAP_CONCURRENCY, (o) => this.#removeFrom(o, target)),
    );
  }

  #recipientNamed(where: string, name: string): Recipient {
    const found = this.#recipients.find((r) => r.name === name);
    if (found === undefined) {
      throw new InvalidArgument(
        `${where}: no recipient '${name}' in this keystore (${this.#recipients.map((r) => r.name).join(', ')})`,
      );
    }
    return found;
  }

  #keyFor(where: string, target: Recipient, key: string | undefined): string {
    const keyId = key ?? target.key;
    if (keyId === undefined)
      throw new InvalidArgument(`${where}: recipient '${target.name}' has no key: name one`);
    target.policy.check(keyId);
    return keyId;
  }

  #refOf(where: string, which: unknown): { provider: string; keyId: string } {
    if (typeof which === 'string') {
      const r = this.#recipientNamed(where, which);
      if (r.key === undefined)
        throw new InvalidArgument(`${where}: recipient '${r.name}' has no key: name one`);
      return { provider: r.type, keyId: r.key };
    }
    if (isPlainObject(which) && typeof which.provider === 'string' && typeof which.keyId === 'string') {
      return { provider: which.provider, keyId: which.keyId };
    }
    throw new InvalidArgument(
      `${where}: the recipient must be a recipient's name or { provider, keyId }, got ${kindOf(which)}`,
    );
  }

  /**
   * Decrypts many envelopes; the providers unwrap their data keys in
   * batches (one backend request per batch where they can).
   */
  decryptMany(
    items: readonly (string | BulkItem)[],
    options: BulkOptions = {},
  ): Promise<BulkResult<Uint8Array>[]> {
    return this.#bulk('decryptMany', items, options, async (opened) => {
      const keys = await openDataKeys(opened);
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
   * result is the new envelope or the item's error. Envelopes of several
   * recipients, and every envelope of a keystore of several recipients, are
   * re-encrypted one by one (16 at once), as `reencrypt` does.
   */
  reencryptMany(
    items: readonly (string | BulkItem)[],
    options: BulkOptions = {},
  ): Promise<BulkResult<string>[]> {
    return this.#bulk('reencryptMany', items, options, async (opened) => {
      const batched = this.#recipients.length === 1 ? opened.filter((o) => o.format === 1) : [];
      const batchedResults = batched.length === 0 ? [] : await this.#reencryptBatched(batched);
      const rest = opened.filter((o) => !batched.includes(o));
      const restResults = await settleLimit(rest, REWRAP_CONCURRENCY, (o) => this.#reencryptOpened(o));
      let b = 0;
      let r = 0;
      return opened.map(
        (o) => (batched.includes(o) ? batchedResults[b++] : restResults[r++]) as string | Error,
      );
    });
  }

  /** Version 1 envelopes of a keystore over one provider: one batch of re-wraps or unwraps. */
  async #reencryptBatched(opened: OpenedEnvelope[]): Promise<(string | Error)[]> {
    const recipient = this.#recipients[0] as Recipient;
    const entries = opened.map((o) => (o.candidates[0] as Candidate).entry);
    const inputs = opened.map((o, i) => unwrapInput(entries[i] as EnvelopeRecipient, o.wrapContext));
    if (recipient.provider.capabilities.rewrapKey) {
      // Server-side re-wraps carry the payloads over unread: only canonical ones go.
      const canonical = opened.map((o) => isCanonicalPayload(o.payload));
      const sent = inputs.filter((_, i) => canonical[i]);
      const answers = sent.length === 0 ? [] : await recipient.provider.rewrapKeys(sent);
      let next = 0;
      const wrapped = canonical.map((ok) => (ok ? answers[next++] : new InvalidToken()));
      return opened.map((o, i) => {
        const w = wrapped[i];
        if (w instanceof Error || w === undefined) return w ?? new InvalidToken();
        return this.#rewrapped(o, entries[i] as EnvelopeRecipient, w);
      });
    }
    const keys = await openDataKeys(opened);
    return settleLimit(opened, REWRAP_CONCURRENCY, async (o, i) => {
      const key = keys[i];
      if (key instanceof Error || key === undefined) throw key ?? new InvalidToken();
      try {
        checkPayload(key, o.payload);
        const wrapped = await this.#rewrapLocally(recipient, inputs[i] as UnwrapKeyInput, key);
        return this.#rewrapped(o, entries[i] as EnvelopeRecipient, wrapped);
      } finally {
        key.fill(0);
      }
    });
  }

  async #bulk<T>(
    where: string,
    items: readonly (string | BulkItem)[],
    options: BulkOptions,
    run: (opened: OpenedEnvelope[]) => Promise<(T | Error)[]>,
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
    run: (opened: OpenedEnvelope[]) => Promise<(T | Error)[]>,
  ): Promise<BulkResult<T>[]> {
    const chunk = items.slice(start, start + BULK_CHUNK);
    const opened: OpenedEnvelope[] = [];
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

  /** The format, algorithm and recipients (provider type, key id, key version) an envelope names; no key needed. */
  inspect(envelope: string): EnvelopeInfo {
    checkEnvelope('inspect', envelope);
    const parts = parseEnvelopeParts(envelope);
    if (!isCanonicalPayload(parts.payload)) throw new InvalidToken();
    const recipients = parts.recipients.map(({ provider, keyId, version }) => ({ provider, keyId, version }));
    const first = recipients[0] as EnvelopeRecipientInfo;
    return { ...first, algorithm: parts.algorithm, format: parts.format, recipients };
  }

  /** Adds a new version of `keyId`; new encryptions use it, old versions still decrypt. */
  async rotate(keyId: string, options: RecipientOption = {}): Promise<KeyMetadata> {
    checkArgument('rotate', 'keyId', keyId, isString);
    checkOptions('rotate', options, RECIPIENT_OPTIONS);
    return this.#managing('rotate', keyId, options.recipient).provider.rotateKey(keyId);
  }

  async createKey(keyId: string, options?: { description?: string } & RecipientOption): Promise<KeyMetadata> {
    checkArgument('createKey', 'keyId', keyId, isString);
    checkOptions('createKey', options, CREATE_KEY_OPTIONS);
    const { recipient, ...create } = options ?? {};
    const owner = this.#managing('createKey', keyId, recipient);
    return owner.provider.createKey(keyId, options === undefined ? undefined : create);
  }

  /** What the provider supports (see `ProviderCapabilities`); in a keystore of several recipients, the first's. */
  get capabilities(): GuardedProvider['capabilities'] {
    return (this.#recipients[0] as Recipient).provider.capabilities;
  }

  /** The provider's keys that this keystore may use (a keystore of several recipients: `options.recipient`'s, else the first's). */
  async listKeys(options: RecipientOption = {}): Promise<KeyMetadata[]> {
    checkOptions('listKeys', options, RECIPIENT_OPTIONS);
    const owner =
      options.recipient === undefined
        ? (this.#recipients[0] as Recipient)
        : this.#recipientNamed('listKeys', options.recipient);
    return (await owner.provider.listKeys()).filter((k) => owner.policy.allows(k.keyId));
  }

  async listVersions(keyId: string, options: RecipientOption = {}): Promise<KeyVersionInfo[]> {
    checkArgument('listVersions', 'keyId', keyId, isString);
    checkOptions('listVersions', options, RECIPIENT_OPTIONS);
    return this.#managing('listVersions', keyId, options.recipient).provider.listVersions(keyId);
  }

  /**
   * The recipient a management call is for: the one named, else the one
   * whose keys include `keyId` (one only: a key several recipients allow
   * must name its recipient).
   */
  #managing(where: string, keyId: string, name: string | undefined): Recipient {
    if (name !== undefined) {
      const named = this.#recipientNamed(where, name);
      named.policy.check(keyId);
      return named;
    }
    const owners = this.#recipients.filter((r) => r.policy.allows(keyId));
    if (owners.length === 1) return owners[0] as Recipient;
    if (owners.length === 0) {
      (this.#recipients[0] as Recipient).policy.check(keyId);
      throw new AccessDenied(
        `key '${keyId}' is not one this keystore's configuration allows (see allowedKeys)`,
      );
    }
    throw new InvalidArgument(
      `${where}: recipients ${owners.map((r) => `'${r.name}'`).join(', ')} all allow key '${keyId}': name one ({ recipient })`,
    );
  }

  /** Closes every recipient's provider. Idempotent. */
  async close(): Promise<void> {
    const providers = [...new Set(this.#recipients.map((r) => r.provider))];
    const results = await Promise.allSettled(providers.map((p) => p.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * The envelope's header checked against this keystore (the recipients it
   * may use, the context); its payload is checked where it is used.
   */
  #open(envelope: string, options: DecryptOptions): OpenedEnvelope {
    const parts = parseEnvelopeParts(envelope);
    const candidates = candidatesFor(this.#decryptOrder, parts.recipients);
    if (candidates.length === 0) throw noCandidateError(this.#decryptOrder, parts.recipients);
    const context = normalizeContext(options.context);
    const digest = contextDigest(context);
    if (!timingSafeEqual(digest, parts.contextDigest)) throw new InvalidToken();
    return { ...parts, context, wrapContext: wrapContext(context, parts.algorithm), candidates };
  }
}

/** The commitment a version 1 head does not use. */
const EMPTY = new Uint8Array(0);
