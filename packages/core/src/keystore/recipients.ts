import type { EnvelopeRecipient } from '../envelope/multi-envelope-format.js';
import { MAX_RECIPIENTS } from '../envelope/multi-envelope-format.js';
import { AccessDenied, InvalidArgument, KeyNotFound } from '../errors/keystore-error.js';
import { type GuardedProvider, type GuardOptions, guardProvider } from '../provider/guard-provider.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { checkOptions, isObject, isString, type OptionSpec } from '../util/check-options.js';
import { KeyPolicy } from './key-policy.js';

/** One recipient of a keystore's envelopes: a provider and the key its data keys are wrapped under. */
export interface KeystoreRecipient {
  /** Names it in `decryptOrder`, `addRecipient` and errors: 1 to 64 of `a-z 0-9 _ -`, starting with a letter or digit. */
  readonly name: string;
  readonly provider: KeyProvider;
  /** The key `encrypt` wraps each data key under. */
  readonly key: string;
  /** More keys of this provider that decrypt may use: ids, prefixes ending in `*`, or `'*'`. */
  readonly allowedKeys?: readonly string[] | '*';
}

/** A recipient as the keystore holds it: its provider behind the guard, and its key policy. */
export interface Recipient {
  readonly name: string;
  readonly provider: GuardedProvider;
  readonly type: string;
  /** The key encryption wraps under; absent for a keystore configured with `allowedKeys` only. */
  readonly key: string | undefined;
  readonly policy: KeyPolicy;
  /** The provider's own `stats()` (a cache in front of it has one), which the guard does not pass on. */
  readonly stats: (() => unknown) | undefined;
}

/** A provider's `stats()`, bound, when it has one: what `Keystore.cacheStats` reports. */
function statsOf(provider: KeyProvider): (() => unknown) | undefined {
  const stats: unknown = (provider as { stats?: unknown }).stats;
  return typeof stats === 'function' ? () => (stats as () => unknown).call(provider) : undefined;
}

/** An envelope's recipient, and the configured recipient that may open it. */
export interface Candidate {
  readonly recipient: Recipient;
  readonly entry: EnvelopeRecipient;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const RECIPIENT_OPTIONS: OptionSpec = {
  name: isString,
  provider: isObject,
  key: isString,
  allowedKeys: {
    expected: "an array of strings or '*'",
    test: (v) => v === '*' || (Array.isArray(v) && v.every((p) => typeof p === 'string')),
  },
};

/** One recipient for a keystore built from a single provider: named after its type. */
export function singleRecipient(
  provider: KeyProvider,
  defaultKey: string | undefined,
  allowedKeys: readonly string[] | '*' | undefined,
  guard: GuardOptions,
): Recipient {
  const guarded = guardProvider(provider, guard);
  return {
    name: guarded.type,
    provider: guarded,
    type: guarded.type,
    key: defaultKey,
    policy: new KeyPolicy(defaultKey, allowedKeys),
    stats: statsOf(provider),
  };
}

/**
 * The recipients of a keystore configured with several, checked: names
 * unique, each (provider type, key) once, at most as many as an envelope
 * holds. One provider object given twice is guarded once.
 */
export function buildRecipients(list: unknown, guard: GuardOptions): Recipient[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECIPIENTS) {
    throw new InvalidArgument(`Keystore: recipients must be an array of 1 to ${MAX_RECIPIENTS} recipients`);
  }
  const guarded = new Map<KeyProvider, GuardedProvider>();
  const recipients: Recipient[] = [];
  list.forEach((item: KeystoreRecipient, i) => {
    const where = `Keystore: recipients[${i}]`;
    checkOptions(where, item, RECIPIENT_OPTIONS);
    if (item?.provider === undefined || item.key === undefined || item.name === undefined) {
      throw new InvalidArgument(`${where} needs a name, a provider and a key`);
    }
    if (!NAME.test(item.name)) {
      throw new InvalidArgument(
        `${where}.name must be 1 to 64 of a-z 0-9 _ - (starting with a letter or digit)`,
      );
    }
    let provider = guarded.get(item.provider);
    if (provider === undefined) {
      provider = guardProvider(item.provider, guard);
      guarded.set(item.provider, provider);
    }
    let policy: KeyPolicy;
    try {
      policy = new KeyPolicy(item.key, item.allowedKeys);
    } catch (error) {
      // KeyPolicy names the single-provider fields (defaultKey): say which recipient and field instead.
      const message = (error as Error).message.replace(/^defaultKey:/, 'key:');
      throw new InvalidArgument(`${where}.${message}`);
    }
    const recipient: Recipient = {
      name: item.name,
      provider,
      type: provider.type,
      key: item.key,
      policy,
      stats: statsOf(item.provider),
    };
    for (const other of recipients) {
      if (other.name === recipient.name) {
        throw new InvalidArgument(`${where}: the name '${item.name}' is taken`);
      }
      if (other.type === recipient.type && other.key === recipient.key) {
        throw new InvalidArgument(
          `${where}: ${recipient.type} key '${item.key}' is recipient '${other.name}' already (give each key its own id)`,
        );
      }
      // Of one provider type, a key id must name one recipient's key: else one could re-wrap the other's entry.
      if (other.type === recipient.type) {
        const [allows, key] = other.policy.allows(item.key)
          ? [other.name, item.key]
          : policy.allows(other.key as string)
            ? [item.name, other.key]
            : [undefined, undefined];
        if (allows !== undefined) {
          throw new InvalidArgument(
            `${where}: recipient '${allows}' (${recipient.type}) allows key '${key}', another recipient's key (a key id must name one recipient's key)`,
          );
        }
      }
    }
    recipients.push(recipient);
  });
  return recipients;
}

/** The recipients in the order decrypt tries them: `decryptOrder` (every name once), else as configured. */
export function orderRecipients(recipients: readonly Recipient[], order: unknown): Recipient[] {
  if (order === undefined) return [...recipients];
  const names = recipients.map((r) => r.name);
  if (
    !Array.isArray(order) ||
    order.length !== recipients.length ||
    new Set(order).size !== order.length ||
    !order.every((name) => names.includes(name as string))
  ) {
    throw new InvalidArgument(`Keystore: decryptOrder must name each recipient once (${names.join(', ')})`);
  }
  return order.map((name) => recipients.find((r) => r.name === name) as Recipient);
}

/**
 * Which configured recipient may open which of an envelope's recipients, in
 * the configured order: never a key the configuration does not allow.
 */
export function candidatesFor(
  order: readonly Recipient[],
  entries: readonly EnvelopeRecipient[],
): Candidate[] {
  const out: Candidate[] = [];
  for (const recipient of order) {
    for (const entry of entries) {
      if (entry.provider === recipient.type && recipient.policy.allows(entry.keyId))
        out.push({ recipient, entry });
    }
  }
  return out;
}

/** Why no configured recipient may open an envelope: another provider (`KeyNotFound`), or keys not allowed (`AccessDenied`). */
export function noCandidateError(order: readonly Recipient[], entries: readonly EnvelopeRecipient[]) {
  const types = [...new Set(order.map((r) => r.type))];
  const [only, ...more] = entries;
  if (only !== undefined && more.length === 0) {
    // A version 1 envelope: the messages a single-provider keystore has always given.
    if (!types.includes(only.provider)) {
      return new KeyNotFound(
        `the envelope was made by the '${only.provider}' provider; this keystore uses '${types.join("', '")}'`,
      );
    }
    return new AccessDenied(
      `key '${only.keyId}' is not one this keystore's configuration allows (see allowedKeys)`,
    );
  }
  const named = entries.map((e) => `${e.provider} key '${e.keyId}'`).join(', ');
  if (entries.some((e) => types.includes(e.provider))) {
    return new AccessDenied(
      `the envelope's keys (${named}) are not ones this keystore's configuration allows`,
    );
  }
  return new KeyNotFound(`the envelope was made for ${named}; this keystore uses '${types.join("', '")}'`);
}
