import type {
  BulkItem,
  BulkResult,
  Capability,
  EncryptionContext,
  EnvelopeInfo,
  KeyMetadata,
  KeyProvider,
  ProviderCapabilities,
  Versioning,
} from '@keystore/core';

/** What an envelope says about itself (`Keystore.inspect`): core's `EnvelopeInfo`, with any algorithm name. */
export type EnvelopeInfoLike = Omit<EnvelopeInfo, 'algorithm'> & { readonly algorithm: string };

/** One envelope of a bulk call, with its own context (core's `BulkItem`). */
export type BulkItemLike = BulkItem;

/** A bulk call's outcome for one item (core's `BulkResult`). */
export type BulkResultLike<T> = BulkResult<T>;

/**
 * The part of `@keystore/core`'s `Keystore` facade the suite uses. A fixture
 * may build its own (a cache in front of the provider, say); by default the
 * suite makes `new Keystore({ provider, allowedKeys: '*' })`.
 */
export interface KeystoreLike {
  encrypt(
    data: string | Uint8Array,
    options?: { key?: string; context?: EncryptionContext },
  ): Promise<string>;
  decrypt(envelope: string, options?: { context?: EncryptionContext }): Promise<Uint8Array>;
  reencrypt(envelope: string, options?: { context?: EncryptionContext }): Promise<string>;
  rotate(keyId: string): Promise<KeyMetadata>;
  inspect(envelope: string): EnvelopeInfoLike;
  close(): Promise<void>;
  /** Bulk forms; the bulk test is skipped for a Keystore without them. */
  decryptMany?(
    items: readonly (string | BulkItemLike)[],
    options?: { context?: EncryptionContext },
  ): Promise<BulkResultLike<Uint8Array>[]>;
  reencryptMany?(
    items: readonly (string | BulkItemLike)[],
    options?: { context?: EncryptionContext },
  ): Promise<BulkResultLike<string>[]>;
}

/** One provider under test, fresh for every test. */
export interface ConformanceFixture {
  /** The provider under test, as its adapter creates it (the suite calls it through `guardProvider`). */
  readonly provider: KeyProvider;
  /** Called after the test, after the provider was closed. */
  cleanup?(): Promise<void>;
  /**
   * Prefix of every key id the suite creates (default `conformance-`), so that
   * a run against a real deployment stays in its own namespace.
   */
  readonly keyPrefix?: string;
  /**
   * For providers that cannot create keys (read-only ones, such as `env`): ids
   * of keys made beforehand. The suite uses them without changing them; give
   * two or more, each with at least two versions, to run the most tests.
   */
  readonly existingKeys?: readonly string[];
  /**
   * A provider of the same type pointed at a backend that cannot be reached
   * (a closed port, say), for the `ProviderUnavailable` test. Absent for
   * embedded providers: that test is then skipped as not applicable.
   */
  unreachable?(): Promise<KeyProvider>;
  /**
   * For a provider behind a cache (`@keystore/redis`): the same provider,
   * over the same backend (the keys the suite made are there), with its
   * cache pointed at a cache server that cannot be reached. The
   * `availability` test checks that it still answers: a down cache is not a
   * down provider. Leave it out for a cache that fails closed.
   */
  unreachableCache?(): Promise<KeyProvider>;
  /**
   * Declared by a provider behind a cache that reuses data keys for
   * encryption (`@keystore/redis`'s `dataKeyReuse`): `generateDataKey` with
   * `plaintextBytes` may then hand out one data key for up to `maxMessages`
   * messages of one key id and context. Absent: every message must get a
   * fresh data key.
   */
  readonly dataKeyReuse?: { readonly maxMessages: number };
  /** Builds the Keystore the envelope tests use (default: `new Keystore({ provider, allowedKeys: '*' })`). */
  keystore?(provider: KeyProvider): KeystoreLike | Promise<KeystoreLike>;
}

export type ConformanceFactory = () => Promise<ConformanceFixture>;

/**
 * What a test needs besides the wrap and unwrap every provider has:
 *
 * - a capability the provider must declare;
 * - `'key'`: a key to use unchanged, made with `createKey` or named in
 *   `fixture.existingKeys`;
 * - `'keystore'`: the test goes through the `Keystore` facade (always
 *   available; it names the group in reports);
 * - `'unreachable'`: `fixture.unreachable`;
 * - `'unreachableCache'`: `fixture.unreachableCache`.
 */
export type Requirement = Capability | 'key' | 'keystore' | 'unreachable' | 'unreachableCache';

export type ConformanceGroup =
  | 'contract'
  | 'wrap'
  | 'lookup'
  | 'rotation'
  | 'lifecycle'
  | 'keystore'
  | 'recipients'
  | 'concurrency'
  | 'availability'
  | 'secrecy'
  | 'close';

/** A conformance test is data: a name, what it needs, and a function that throws when the provider fails it. */
export interface ConformanceTest {
  readonly name: string;
  readonly group: ConformanceGroup;
  readonly requires: readonly Requirement[];
  /** What the test shows, for reports and the README. */
  readonly description: string;
  run(ctx: ConformanceContext): Promise<void>;
}

/** What a test receives: the provider behind the guard, key helpers, the Keystore. */
export interface ConformanceContext {
  readonly fixture: ConformanceFixture;
  /** `fixture.provider` behind `guardProvider`: the contract as the core enforces it. */
  readonly provider: Required<KeyProvider>;
  readonly capabilities: ProviderCapabilities;
  /**
   * How the provider's versions follow a rotation (`KeyProvider.versioning`,
   * `'numbered'` when it declares none): the rotation tests check what it
   * promises.
   */
  readonly versioning: Versioning;
  readonly keyPrefix: string;
  /** A key id under `keyPrefix` that names no key. */
  unusedKeyId(label: string): string;
  /**
   * A key the test may use but not change: a fresh one (deleted afterwards
   * when the provider can delete keys) when the provider can create keys,
   * else `fixture.existingKeys[index]`. Same index, same key.
   */
  key(index?: number): Promise<string>;
  /** A fresh key made with `createKey`, owned by this test (deleted afterwards when the provider can delete keys). */
  createKey(label: string): Promise<string>;
  /** A fresh key made with `importKey` from `material`, owned by this test. */
  importKey(label: string, material: Uint8Array): Promise<string>;
  /** Marks a key the test made itself, to be deleted after the test like those of `createKey`. */
  track(keyId: string): void;
  /** A Keystore over `fixture.provider` (closed after the test). */
  keystore(): Promise<KeystoreLike>;
  /** Deletes the keys this test made, now (for a test that then closes the provider). */
  deleteCreatedKeys(): Promise<void>;
  /** Ends the test as skipped, saying why. */
  skip(reason: string): never;
}

export type ConformanceStatus = 'passed' | 'failed' | 'skipped';

export interface ConformanceResult {
  readonly name: string;
  readonly group: ConformanceGroup;
  readonly requires: readonly Requirement[];
  readonly status: ConformanceStatus;
  /** Why it failed or was skipped. */
  readonly reason?: string;
  /** The thrown value of a failed test. */
  readonly error?: unknown;
  readonly durationMs: number;
}

export interface ConformanceReport {
  /** The provider type (`memory`, `vault`, ...), when a fixture could be made. */
  readonly provider?: string;
  readonly capabilities?: ProviderCapabilities;
  readonly results: readonly ConformanceResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** No test failed. */
  readonly ok: boolean;
  readonly durationMs: number;
}

export interface ConformanceRunOptions {
  readonly factory: ConformanceFactory;
  /** Runs only the tests it accepts. */
  readonly filter?: (test: ConformanceTest) => boolean;
  /** Milliseconds before a test fails as timed out (default 60 000). */
  readonly timeoutMs?: number;
}
