import { createHash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { createMaterialProvider, createMemoryProvider, isKeystoreError, Keystore } from '@keystore/core';
import {
  type DataKey,
  type KeyProvider,
  materialStoreOf,
  type UnwrapKeyInput,
} from '@keystore/core/provider';
import { describe, expect, it, vi } from 'vitest';
import { L1Cache } from '../src/cache/l1-cache.js';
import { SingleFlight } from '../src/cache/single-flight.js';
import { decodeStoredKey, encodeStoredKey } from '../src/cache/stored-key-bytes.js';
import { TagEpochs } from '../src/cache/tag-epochs.js';
import { FORGET_INTERVAL_MS } from '../src/cache/tiered-cache.js';
import { DataKeyReuse } from '../src/reuse/data-key-reuse.js';
import { cachedOverFake, NAMESPACE, opaque, PREFIX } from './support/cached.js';
import { FakeRedis } from './support/fake-connection.js';

const context = { table: 'patients', id: '4711' };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A memory provider whose store loads are counted. */
async function countingMaterialProvider(keys: string[]) {
  const inner = await createMemoryProvider({ keys });
  const store = materialStoreOf(inner);
  if (store === undefined) throw new Error('memory provider without a store');
  const counts = { load: 0 };
  const load = store.load.bind(store);
  store.load = async (keyId) => {
    counts.load++;
    return load(keyId);
  };
  return { provider: createMaterialProvider(store), counts };
}

describe('the L1', () => {
  it('evicts the least recently used entry beyond maxEntries, and zeroes it', () => {
    const l1 = new L1Cache(2, 60_000);
    const a = new Uint8Array([1, 1]);
    l1.set('a', 't', a);
    l1.set('b', 't', new Uint8Array([2]));
    expect(l1.get('a')).toEqual(new Uint8Array([1, 1])); // a is now the most recent
    l1.set('c', 't', new Uint8Array([3]));
    expect(l1.get('b')).toBeUndefined();
    expect(l1.get('a')).toEqual(new Uint8Array([1, 1]));
    expect(l1.size).toBe(2);
    expect(a).toEqual(new Uint8Array([1, 1])); // the caller's buffer was copied, not kept
  });

  it('forgets entries older than its ttl', () => {
    let now = 0;
    const l1 = new L1Cache(10, 1000, () => now);
    l1.set('a', 't', new Uint8Array([1]));
    now = 999;
    expect(l1.get('a')).toEqual(new Uint8Array([1]));
    now = 1000;
    expect(l1.get('a')).toBeUndefined();
  });

  it('hands out copies: zeroing one leaves the entry', () => {
    const l1 = new L1Cache(10, 60_000);
    l1.set('a', 't', new Uint8Array([7, 7]));
    l1.get('a')?.fill(0);
    expect(l1.get('a')).toEqual(new Uint8Array([7, 7]));
  });

  it('sweep zeroes and drops every expired entry, and only those', () => {
    let now = 0;
    const l1 = new L1Cache(10, 1000, () => now);
    l1.set('old', 't', new Uint8Array([1, 1]));
    now = 500;
    l1.set('young', 't', new Uint8Array([2, 2, 2]));
    const fill = vi.spyOn(Uint8Array.prototype, 'fill');
    try {
      now = 999;
      expect(l1.sweep()).toBe(0);
      now = 1000;
      expect(l1.sweep()).toBe(1);
      expect(fill.mock.contexts).toEqual([new Uint8Array(2)]);
      expect(l1.size).toBe(1);
      expect(l1.get('young')).toEqual(new Uint8Array([2, 2, 2]));
    } finally {
      fill.mockRestore();
    }
  });

  it('zeroes what it held on eviction, tag drop and clear', () => {
    const fill = vi.spyOn(Uint8Array.prototype, 'fill');
    try {
      const l1 = new L1Cache(1, 60_000);
      l1.set('a', 'x', new Uint8Array([1]));
      l1.set('b', 'y', new Uint8Array([2])); // evicts a
      expect(fill.mock.contexts).toEqual([new Uint8Array([0])]);
      expect(l1.dropTag('y')).toEqual(['b']);
      l1.set('c', 'z', new Uint8Array([3]));
      l1.clear();
      expect(fill.mock.contexts).toEqual([new Uint8Array([0]), new Uint8Array([0]), new Uint8Array([0])]);
      expect(fill.mock.calls.every(([v]) => v === 0)).toBe(true);
    } finally {
      fill.mockRestore();
    }
  });
});

describe('tag epochs', () => {
  it('say per tag whether it changed since a mark; a tag pushed out counts as changed for older marks', () => {
    const epochs = new TagEpochs(2);
    const start = epochs.mark();
    epochs.drop('a');
    expect(epochs.changedSince('a', start)).toBe(true);
    expect(epochs.changedSince('b', start)).toBe(false);
    const later = epochs.mark();
    expect(epochs.changedSince('a', later)).toBe(false);
    epochs.drop('b');
    epochs.drop('c'); // pushes a out: its drop becomes the floor
    expect(epochs.changedSince('a', start)).toBe(true);
    expect(epochs.changedSince('z', start)).toBe(true); // unknown, older than the floor: not trusted
    expect(epochs.changedSince('z', epochs.mark())).toBe(false);
    const beforeAll = epochs.mark();
    epochs.dropAll();
    expect(epochs.changedSince('z', beforeAll)).toBe(true);
  });
});

describe('single flight', () => {
  it('runs one load for concurrent callers, gives each its own copy, zeroes the shared one', async () => {
    const flight = new SingleFlight();
    let loads = 0;
    const shared = new Uint8Array([5, 5, 5]);
    const load = async () => {
      loads++;
      await tick();
      return shared;
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => flight.run('k', load)));
    expect(loads).toBe(1);
    expect(new Set(results).size).toBe(10);
    for (const r of results) expect(r).toEqual(new Uint8Array([5, 5, 5]));
    expect(shared).toEqual(new Uint8Array([0, 0, 0]));
  });
});

describe('stored key records as bytes', () => {
  it('round-trip, and refuse another key id or a wrong length', async () => {
    const { provider } = await countingMaterialProvider(['k']);
    const key = await materialStoreOf(provider)?.load('k');
    if (key === undefined) throw new Error('no key');
    const bytes = encodeStoredKey(key);
    expect(decodeStoredKey('k', bytes)).toEqual(key);
    expect(decodeStoredKey('other', bytes)).toBeUndefined();
    expect(decodeStoredKey('k', bytes.subarray(0, bytes.length - 1))).toBeUndefined();
  });
});

describe('the cache in front of a provider without a store (unwrapped data keys)', () => {
  it('50 concurrent unwraps of one envelope reach the provider once; later ones hit the L1', async () => {
    const redis = new FakeRedis();
    const { provider, calls } = opaque(await createMemoryProvider({ keys: ['k'] }));
    const cached = await cachedOverFake(provider, redis);
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    const envelope = await keystore.encrypt('blood type AB+', { key: 'k', context });
    const plain = await Promise.all(
      Array.from({ length: 50 }, () => keystore.decrypt(envelope, { context })),
    );
    for (const p of plain) expect(Buffer.from(p).toString()).toBe('blood type AB+');
    expect(calls.unwrapKey).toBe(1);
    await keystore.decrypt(envelope, { context });
    expect(calls.unwrapKey).toBe(1);
    const stats = cached.stats();
    expect(stats.misses).toBe(1);
    expect(stats.hits.l1).toBe(1);
    // One Redis entry, named by a digest, under the prefix and namespace.
    const names = [...redis.values.keys()];
    expect(names).toHaveLength(1);
    expect(names[0]).toBe(`${PREFIX}${NAMESPACE}:d:{${sha('k')}}:${names[0]?.split(':').at(-1)}`);
    expect(names[0]).toMatch(/:[0-9a-f]{64}$/);
    await keystore.close();
  });

  it('a second process finds the data key in Redis; a wrong context is never answered from the cache', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const a = opaque(memory);
    const b = opaque(memory);
    const ksA = new Keystore({ provider: await cachedOverFake(a.provider, redis), allowedKeys: '*' });
    const cachedB = await cachedOverFake(b.provider, redis);
    const ksB = new Keystore({ provider: cachedB, allowedKeys: '*' });
    const envelope = await ksA.encrypt('x', { key: 'k', context });
    await ksA.decrypt(envelope, { context });
    expect(Buffer.from(await ksB.decrypt(envelope, { context })).toString()).toBe('x');
    expect(b.calls.unwrapKey).toBeUndefined();
    expect(cachedB.stats().hits.redis).toBe(1);
    await expect(ksB.decrypt(envelope, { context: { ...context, id: '4712' } })).rejects.toThrow();
  });

  it('unwrapKeys answers each item from the cache or one provider batch, errors in their slots', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const batches: number[] = [];
    const { provider, calls } = opaque(memory);
    const batching = {
      ...provider,
      unwrapKeys: async (inputs: readonly UnwrapKeyInput[]) => {
        batches.push(inputs.length);
        return Promise.all(inputs.map((i) => memory.unwrapKey(i).catch((e: unknown) => e as Error)));
      },
    } as KeyProvider;
    const cached = await cachedOverFake(batching, redis);
    const keys = await Promise.all(
      [1, 2, 3].map(() => memory.generateDataKey?.({ keyId: 'k', length: 32, context })),
    );
    const inputs = keys.map((k) => ({ ...(k as DataKey).wrapped, context }));
    expect(await cached.unwrapKey(inputs[0] as UnwrapKeyInput)).toEqual(keys[0]?.plaintext);
    const bad = { ...(inputs[1] as UnwrapKeyInput), context: { other: 'context' } };
    const results = await (cached.unwrapKeys as NonNullable<KeyProvider['unwrapKeys']>)([...inputs, bad]);
    expect(calls.unwrapKey).toBe(1);
    expect(batches).toEqual([3]); // items 2, 3 and the bad one; item 1 from the L1
    expect(results.slice(0, 3)).toEqual(keys.map((k) => k?.plaintext));
    expect(results[3]).toBeInstanceOf(Error);
    // Now all three are cached: no batch at all.
    await (cached.unwrapKeys as NonNullable<KeyProvider['unwrapKeys']>)(inputs);
    expect(batches).toEqual([3]);
    expect(cached.stats().hits.l1).toBe(4);
  });

  it('rotate and delete through the wrapper drop the key in this L1, in Redis, and in the other process', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const a = opaque(memory);
    const b = opaque(memory);
    const cachedA = await cachedOverFake(a.provider, redis);
    const cachedB = await cachedOverFake(b.provider, redis);
    const ksA = new Keystore({ provider: cachedA, allowedKeys: '*' });
    const ksB = new Keystore({ provider: cachedB, allowedKeys: '*' });
    const envelope = await ksA.encrypt('x', { key: 'k', context });
    await ksA.decrypt(envelope, { context });
    await ksB.decrypt(envelope, { context });
    expect(b.calls.unwrapKey).toBeUndefined(); // from Redis, now in B's L1
    expect(redis.values.size).toBe(1);

    await cachedA.deleteKey?.('k', { confirm: 'k' });
    // The entry DEL'd; what is left is the key's generation, counted up.
    expect([...redis.values]).toEqual([[`${PREFIX}${NAMESPACE}:g:{${sha('k')}}`, '1']]);
    await tick();
    expect(cachedB.stats().invalidations).toBe(1);
    // B's L1 no longer answers: the provider says the key is gone.
    const error = await ksB.decrypt(envelope, { context }).catch((e: unknown) => e);
    expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    expect(redis.commands).toContain('publish');
  });
});

describe('the cache in front of a material provider (key records)', () => {
  it('caches the record under m:{<sha256 of the key id>}; 50 concurrent decrypts load it once', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    const cached = await cachedOverFake(provider, redis);
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    const envelope = await keystore.encrypt('x', { key: 'k', context });
    expect(counts.load).toBe(1);
    await Promise.all(Array.from({ length: 50 }, () => keystore.decrypt(envelope, { context })));
    expect(counts.load).toBe(1);
    expect([...redis.values.keys()]).toEqual([`${PREFIX}${NAMESPACE}:m:{${sha('k')}}`]);
    expect(cached.stats().hits.l1).toBe(50);
  });

  it('rotation through the wrapper is seen at once here and, after the message, by the other process', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    // Two "processes" over one store, as two file providers over one keystore file.
    const cachedA = await cachedOverFake(createMaterialProvider(store), redis);
    const cachedB = await cachedOverFake(createMaterialProvider(store), redis);
    const ksA = new Keystore({ provider: cachedA, allowedKeys: '*' });
    const ksB = new Keystore({ provider: cachedB, allowedKeys: '*' });
    await ksB.encrypt('warm', { key: 'k', context }); // B's L1 holds version 1 only
    expect((await ksA.rotate('k')).latestVersion).toBe(2);
    expect(ksA.inspect(await ksA.encrypt('x', { key: 'k', context })).version).toBe(2);
    await tick();
    expect(ksB.inspect(await ksB.encrypt('x', { key: 'k', context })).version).toBe(2);
    expect(cachedB.stats().invalidations).toBeGreaterThanOrEqual(1);
  });

  it('a load that began before an invalidation is never stored (the next lookup loads again)', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    const store = materialStoreOf(provider);
    if (store === undefined) throw new Error('no store');
    const load = store.load.bind(store);
    let release: () => void = () => {};
    let slow = true;
    store.load = async (keyId) => {
      const key = await load(keyId); // read now: the value before the rotation
      if (slow) await new Promise<void>((resolve) => (release = resolve));
      return key;
    };
    const cached = await cachedOverFake(provider, redis);
    const pending = cached.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    await tick();
    slow = false;
    // Another process rotates while this one's load still runs; its message arrives first.
    const other = await cachedOverFake(createMaterialProvider(store), redis);
    await other.rotateKey?.('k');
    await tick();
    expect(cached.stats().invalidations).toBe(1);
    release();
    expect((await pending).version).toBe(1);
    // Neither the L1 nor Redis kept version 1's record: the next wrap uses version 2.
    expect((await cached.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context })).version).toBe(2);
    const fresh = await cachedOverFake(createMaterialProvider(store), redis);
    expect((await fresh.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context })).version).toBe(2);
    expect(counts.load).toBeGreaterThanOrEqual(3);
  });

  it("decrypts another process's newer version before its message arrives (a stale record is reloaded once)", async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const ksA = new Keystore({
      provider: await cachedOverFake(createMaterialProvider(store), redis),
      allowedKeys: '*',
    });
    let now = 0;
    const cachedB = await cachedOverFake(createMaterialProvider(store), redis, { now: () => now });
    const ksB = new Keystore({ provider: cachedB, allowedKeys: '*' });
    await ksB.encrypt('warm', { key: 'k', context }); // B's L1: version 1 only
    redis.held = [];
    await ksA.rotate('k');
    const fresh = await ksA.encrypt('v2', { key: 'k', context });
    expect(ksA.inspect(fresh).version).toBe(2);
    expect(Buffer.from(await ksB.decrypt(fresh, { context })).toString()).toBe('v2');
    // A version that exists nowhere still fails as without the cache (after one reload).
    const loads = { n: 0 };
    const load = store.load.bind(store);
    store.load = async (keyId) => {
      loads.n++;
      return load(keyId);
    };
    const dk = await cachedB.generateDataKey?.({ keyId: 'k', length: 32, context });
    now += FORGET_INTERVAL_MS; // the reload for version 2 above was within this second
    const error = await cachedB
      .unwrapKey({ ...(dk as DataKey).wrapped, version: 99, context })
      .catch((e: unknown) => e);
    expect(loads.n).toBe(1);
    expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
  });

  it('a pub/sub gap clears the L1', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    const cached = await cachedOverFake(provider, redis);
    await cached.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    redis.values.clear();
    redis.gap(`${PREFIX}invalidate`);
    await cached.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    expect(counts.load).toBe(2);
  });

  it('a value that does not open is dropped, counted, deleted and never used', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    const cached = await cachedOverFake(provider, redis, { l1: { maxEntries: 10, ttlSeconds: 1 } });
    const name = `${PREFIX}${NAMESPACE}:m:{${sha('k')}}`;
    await cached.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    const token = redis.values.get(name) ?? '';
    // Another "process" (empty L1) reads the tampered value.
    const other = await cachedOverFake(provider, redis);
    const tampered = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
    redis.values.set(name, tampered);
    await other.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    expect(other.stats().dropped).toBe(1);
    expect(counts.load).toBe(2);
    // Deleted, then stored afresh from the store.
    expect(redis.values.get(name)).not.toBe(tampered);
    expect(redis.commands.filter((c) => c === 'del').length).toBeGreaterThanOrEqual(1);
  });
});

describe('Redis failing', () => {
  it('fail-open: every call goes to the provider, errors counted', async () => {
    const redis = new FakeRedis();
    redis.down = true;
    const { provider, counts } = await countingMaterialProvider(['k']);
    const cached = await cachedOverFake(provider, redis);
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    const envelope = await keystore.encrypt('x', { key: 'k', context });
    expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe('x');
    await keystore.rotate('k');
    // The GET, and the rotation's DEL and PUBLISH; the L1 answered the decrypt and the rotation's load.
    expect(cached.stats().errors).toBe(3);
    expect(counts.load).toBe(1);
    expect(keystore.inspect(await keystore.encrypt('x', { key: 'k', context })).version).toBe(2);
    expect(counts.load).toBe(2);
    expect(cached.stats().errors).toBe(4);
  });

  it('fail-closed: a call that needs Redis fails with ProviderUnavailable', async () => {
    const redis = new FakeRedis();
    const { provider } = await countingMaterialProvider(['k']);
    const cached = await cachedOverFake(provider, redis, { onRedisError: 'fail-closed' });
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    await keystore.encrypt('x', { key: 'k', context });
    redis.down = true;
    // The L1 still answers: fail-closed is about Redis errors, not a cold cache.
    await keystore.encrypt('x', { key: 'k', context });
    const error = await keystore.rotate('k').catch((e: unknown) => e);
    expect(isKeystoreError(error, 'ProviderUnavailable')).toBe(true);
    const opaqueCached = await cachedOverFake(
      opaque(await createMemoryProvider({ keys: ['k'] })).provider,
      redis,
      {
        onRedisError: 'fail-closed',
      },
    );
    const dk = await opaqueCached.generateDataKey?.({ keyId: 'k', length: 32, context });
    const unwrapError = await opaqueCached
      .unwrapKey({ ...(dk?.wrapped as NonNullable<typeof dk>['wrapped']), context })
      .catch((e: unknown) => e);
    expect(isKeystoreError(unwrapError, 'ProviderUnavailable')).toBe(true);
  });
});

describe('staleness and invalidation per key', () => {
  it('an envelope naming a version nobody has reloads the record at most once a second', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    let now = 0;
    const cached = await cachedOverFake(provider, redis, { now: () => now });
    const dk = await cached.generateDataKey?.({ keyId: 'k', length: 32, context });
    expect(counts.load).toBe(1);
    const bogus = { ...(dk as DataKey).wrapped, version: 99, context };
    for (let i = 0; i < 20; i++) {
      const error = await cached.unwrapKey(bogus).catch((e: unknown) => e);
      expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    }
    expect(counts.load).toBe(2); // one reload, then KeyNotFound without one
    now += FORGET_INTERVAL_MS - 1;
    await cached.unwrapKey(bogus).catch(() => {});
    expect(counts.load).toBe(2);
    now += 1;
    await cached.unwrapKey(bogus).catch(() => {});
    expect(counts.load).toBe(3);
    // The real version still unwraps from the cache meanwhile.
    expect(await cached.unwrapKey({ ...(dk as DataKey).wrapped, context })).toEqual(dk?.plaintext);
    expect(counts.load).toBe(3);
  });

  it('new versions from several rotations elsewhere within a second each get their reload; at most 8 versions a second', async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['k']);
    const store = materialStoreOf(provider);
    if (store === undefined) throw new Error('no store');
    let now = 0;
    // B: a wrapper that never hears A's invalidations (no pub/sub between the two fakes' wrappers here).
    const b = await cachedOverFake(createMaterialProvider(store), new FakeRedis(), { now: () => now });
    const a = new Keystore({ provider: await cachedOverFake(provider, redis), allowedKeys: '*' });
    const ksB = new Keystore({ provider: b, allowedKeys: '*' });
    await ksB.encrypt('warm', { key: 'k', context }); // B's L1: version 1 only
    for (let version = 2; version <= 4; version++) {
      await a.rotate('k');
      const envelope = await a.encrypt(`v${version}`, { key: 'k', context });
      expect(a.inspect(envelope).version).toBe(version);
      now += 10; // three rotations within 30 ms: each new version decrypts in B at once
      expect(Buffer.from(await ksB.decrypt(envelope, { context })).toString()).toBe(`v${version}`);
    }
    const loads = counts.load;
    const dk = await b.generateDataKey?.({ keyId: 'k', length: 32, context });
    const bogus = (version: number) => ({ ...(dk as DataKey).wrapped, version, context });
    // Versions nobody has, each new: reloads until the key's 8 of this second are spent (3 went to v2 to v4).
    for (let version = 100; version < 110; version++) {
      const error = await b.unwrapKey(bogus(version)).catch((e: unknown) => e);
      expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    }
    expect(counts.load - loads).toBe(8 - 3);
    now += FORGET_INTERVAL_MS;
    await b.unwrapKey(bogus(200)).catch(() => {});
    expect(counts.load - loads).toBe(8 - 3 + 1);
  });

  it("another key's invalidation does not stop a load in flight being cached, nor end its single flight", async () => {
    const redis = new FakeRedis();
    const { provider, counts } = await countingMaterialProvider(['a', 'b']);
    const store = materialStoreOf(provider);
    if (store === undefined) throw new Error('no store');
    const load = store.load.bind(store);
    const waiting: (() => void)[] = [];
    store.load = async (keyId) => {
      const key = await load(keyId);
      if (keyId === 'a') await new Promise<void>((resolve) => waiting.push(resolve));
      return key;
    };
    const cached = await cachedOverFake(provider, redis);
    const wrapA = () => cached.wrapKey({ keyId: 'a', plaintext: new Uint8Array(32), context });
    const first = wrapA();
    await tick();
    await cached.rotateKey?.('b'); // loads b once, then invalidates it (here, in Redis, announced)
    const second = wrapA(); // joins a's flight: b's invalidation has nothing to do with a
    await tick();
    for (const resolve of waiting) resolve();
    await Promise.all([first, second]);
    expect(counts.load).toBe(2); // a once, b once
    await wrapA();
    expect(counts.load).toBe(2); // a was stored: the L1 answered
    expect(cached.stats().hits.l1).toBeGreaterThanOrEqual(1);
  });

  it('fail-closed: a value loaded but not stored (the SET failed) is zeroed', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    let handed: Uint8Array | undefined;
    const { provider } = opaque(memory);
    const failingAfterLoad = {
      ...provider,
      unwrapKey: async (input: UnwrapKeyInput) => {
        handed = await memory.unwrapKey(input);
        redis.down = true; // the lookup's MGET worked; the SET will not
        return handed;
      },
    } as KeyProvider;
    const cached = await cachedOverFake(failingAfterLoad, redis, { onRedisError: 'fail-closed' });
    const dk = await memory.generateDataKey?.({ keyId: 'k', length: 32, context });
    const error = await cached.unwrapKey({ ...(dk as DataKey).wrapped, context }).catch((e: unknown) => e);
    expect(isKeystoreError(error, 'ProviderUnavailable')).toBe(true);
    expect(handed).toEqual(new Uint8Array(32));
    expect(dk?.plaintext).not.toEqual(new Uint8Array(32));
  });

  it('the sweep runs on a timer from wrap time, and stops on close', async () => {
    const l1Sweep = vi.spyOn(L1Cache.prototype, 'sweep');
    const reuseSweep = vi.spyOn(DataKeyReuse.prototype, 'sweep');
    try {
      const redis = new FakeRedis();
      const cached = await cachedOverFake(await createMemoryProvider({ keys: ['k'] }), redis, {
        sweepIntervalMs: 5,
        dataKeyReuse: { maxAgeSeconds: 1, maxMessages: 10, maxBytes: 1000 },
      });
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(l1Sweep.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(reuseSweep.mock.calls.length).toBeGreaterThanOrEqual(2);
      await cached.close();
      l1Sweep.mockClear();
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(l1Sweep).not.toHaveBeenCalled();
    } finally {
      l1Sweep.mockRestore();
      reuseSweep.mockRestore();
    }
  });
});
