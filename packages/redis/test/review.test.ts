import { EventEmitter } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import {
  createMaterialProvider,
  createMemoryProvider,
  Fernet,
  isKeystoreError,
  Keystore,
} from '@keystore/core';
import {
  type DataKey,
  type KeyProvider,
  materialStoreOf,
  type UnwrapKeyInput,
} from '@keystore/core/provider';
import { describe, expect, it, vi } from 'vitest';
import { L1Cache } from '../src/cache/l1-cache.js';
import type * as StoredKeyBytes from '../src/cache/stored-key-bytes.js';
import type { RedisClient } from '../src/connection/create-client.js';
import { Subscriber } from '../src/connection/subscriber.js';
import { EncryptedCache } from '../src/encrypted-cache.js';
import { RedisUnavailable } from '../src/errors.js';
import { withRedisCache } from '../src/index.js';
import { cachedOverFake, opaque } from './support/cached.js';
import { FakeRedis } from './support/fake-connection.js';

const context = { table: 'patients', id: '4711' };

/** Every key record the cache decoded from bytes, in order. */
const decoded = vi.hoisted(() => [] as { readonly versions: readonly { readonly material: Uint8Array }[] }[]);
vi.mock('../src/cache/stored-key-bytes.js', async (importOriginal) => {
  const original = await importOriginal<typeof StoredKeyBytes>();
  return {
    ...original,
    decodeStoredKey: (...args: Parameters<typeof original.decodeStoredKey>) => {
      const out = original.decodeStoredKey(...args);
      if (out !== undefined) decoded.push(out);
      return out;
    },
  };
});

describe('review findings', () => {
  it("concurrent decrypts of another process's newer version all succeed, not only the first", async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const ksA = new Keystore({
      provider: await cachedOverFake(createMaterialProvider(store), redis),
      allowedKeys: '*',
    });
    const ksB = new Keystore({
      provider: await cachedOverFake(createMaterialProvider(store), redis),
      allowedKeys: '*',
    });
    await ksB.encrypt('warm', { key: 'k', context }); // B's L1: version 1 only
    redis.held = []; // A's message does not reach B
    await ksA.rotate('k');
    const envelopes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ksA.encrypt(`v2-${i}`, { key: 'k', context })),
    );
    const loads = { n: 0 };
    const load = store.load.bind(store);
    store.load = async (keyId) => {
      loads.n++;
      return load(keyId);
    };
    const results = await Promise.allSettled(envelopes.map((e) => ksB.decrypt(e, { context })));
    expect(
      results.map((r) => (r.status === 'fulfilled' ? Buffer.from(r.value).toString() : 'failed')),
    ).toEqual(envelopes.map((_, i) => `v2-${i}`));
    expect(loads.n).toBeLessThanOrEqual(2); // the retries share the reload, not one store load each
  });

  it('the record decoded only to check a Redis hit is zeroed (only the one handed on is not)', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const a = await cachedOverFake(createMaterialProvider(store), redis);
    await a.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context }); // the record now in Redis
    const b = await cachedOverFake(createMaterialProvider(store), redis);
    decoded.length = 0;
    await b.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context }); // a Redis hit
    expect(b.stats().hits.redis).toBe(1);
    expect(decoded.length).toBe(2); // the check, then the record handed to the material provider
    const [checked] = decoded;
    expect(checked?.versions.every((v) => v.material.every((x) => x === 0))).toBe(true);
  });

  it('unwrapKeys whose provider batch fails zeroes the data keys it had found in the L1 and Redis', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const { provider } = opaque(memory);
    const failing = {
      ...provider,
      unwrapKeys: async () => {
        throw new Error('the backend failed');
      },
    } as KeyProvider;
    const keys = await Promise.all(
      [1, 2, 3].map(() => memory.generateDataKey?.({ keyId: 'k', length: 32, context })),
    );
    const inputs = keys.map((k) => ({ ...(k as DataKey).wrapped, context }) as UnwrapKeyInput);
    const a = await cachedOverFake(provider, redis);
    await a.unwrapKey(inputs[1] as UnwrapKeyInput); // in Redis
    const b = await cachedOverFake(failing, redis);
    await b.unwrapKey(inputs[0] as UnwrapKeyInput); // in b's L1 (and Redis)
    const found: Uint8Array[] = [];
    const l1Get = L1Cache.prototype.get;
    const read = EncryptedCache.prototype.read;
    const l1Spy = vi.spyOn(L1Cache.prototype, 'get').mockImplementation(function (this: L1Cache, name) {
      const out = l1Get.call(this, name);
      if (out !== undefined) found.push(out);
      return out;
    });
    const readSpy = vi.spyOn(EncryptedCache.prototype, 'read').mockImplementation(async function (
      this: EncryptedCache,
      ...args
    ) {
      const out = await read.apply(this, args);
      if (out.value !== undefined) found.push(out.value);
      return out;
    });
    try {
      await expect((b.unwrapKeys as NonNullable<KeyProvider['unwrapKeys']>)(inputs)).rejects.toThrow(
        'the backend failed',
      );
    } finally {
      l1Spy.mockRestore();
      readSpy.mockRestore();
    }
    expect(found.length).toBe(2); // item 1 from the L1, item 2 from Redis
    expect(found.every((v) => v.length === 32 && v.every((x) => x === 0))).toBe(true);
  });
});

describe('invalidation', () => {
  it('fail-closed, the generation count failing: the change is still announced to other processes', async () => {
    const redis = new FakeRedis();
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const b = await cachedOverFake(createMaterialProvider(store), redis);
    const ksB = new Keystore({ provider: b, allowedKeys: '*' });
    expect(ksB.inspect(await ksB.encrypt('x', { key: 'k', context })).version).toBe(1);
    const connect = redis.connection.bind(redis);
    redis.connection = (counters) => {
      const c = connect(counters);
      c.eval = async () => {
        throw new RedisUnavailable('eval', 'timeout', 'no answer (test)');
      };
      return c;
    };
    const a = await cachedOverFake(createMaterialProvider(store), redis, { onRedisError: 'fail-closed' });
    const ksA = new Keystore({ provider: a, allowedKeys: '*' });
    await expect(ksA.rotate('k')).rejects.toThrow(RedisUnavailable);
    await tick();
    await tick();
    // B dropped its record (v1) on A's message; Redis still holds v1 under the old generation.
    redis.values.clear();
    expect(ksB.inspect(await ksB.encrypt('x', { key: 'k', context })).version).toBe(2);
  });
});

describe('the namespace', () => {
  const options = (namespace: string) => ({
    url: 'redis://127.0.0.1:1',
    cacheKey: { value: Fernet.generateKey() },
    namespace,
  });

  it('is refused when too long for a key name (every SET failed, also fail-open) or holding a brace (a Cluster hash tag)', async () => {
    for (const namespace of ['n'.repeat(257), 'ops{1', 'a}b', '']) {
      const error = await withRedisCache(
        await createMemoryProvider({ keys: ['k'] }),
        options(namespace),
      ).catch((e: unknown) => e);
      expect(isKeystoreError(error, 'ConfigError')).toBe(true);
    }
    const cached = await withRedisCache(
      await createMemoryProvider({ keys: ['k'] }),
      options(`ops-${'n'.repeat(252)}`),
    );
    await cached.close();
  });
});

describe('the url beside db, username, password', () => {
  // ioredis takes the URL's database and credentials over the options': the block's would be ignored.
  it('is refused when both name the database or a credential (the URL would win silently)', async () => {
    const cases = [
      { url: { value: 'redis://127.0.0.1:1/2' }, db: 5 },
      { url: { value: 'redis://:old@127.0.0.1:1' }, password: { value: 'new' } },
      { url: { value: 'redis://me:pw@127.0.0.1:1' }, username: { value: 'you' } },
    ];
    for (const extra of cases) {
      const error = await withRedisCache(await createMemoryProvider({ keys: ['k'] }), {
        cacheKey: { value: Fernet.generateKey() },
        ...extra,
      }).catch((e: unknown) => e);
      expect(isKeystoreError(error, 'ConfigError')).toBe(true);
      expect(String(error)).not.toMatch(/old|new|pw/);
    }
    for (const extra of [
      { url: 'redis://127.0.0.1:1', db: 5 },
      { url: { value: 'redis://127.0.0.1:1/' }, db: 5, password: { value: 'pw' } },
      { url: { value: 'redis://:pw@127.0.0.1:1/3' } },
    ]) {
      const cached = await withRedisCache(await createMemoryProvider({ keys: ['k'] }), {
        cacheKey: { value: Fernet.generateKey() },
        ...extra,
      });
      await cached.close();
    }
  });
});

describe('the subscriber', () => {
  /** Enough of an ioredis client for the Subscriber: status, events, subscribe. */
  function fakeClient() {
    const client = Object.assign(new EventEmitter(), {
      status: 'connecting',
      connect: async () => {},
      subscribe: async () => 1,
      unsubscribe: async () => 0,
      disconnect: () => {},
    });
    return client;
  }

  it('a channel first subscribed after the connection came up tells of a gap (what was cached before heard nothing)', async () => {
    const client = fakeClient();
    const subscriber = new Subscriber(client as unknown as RedisClient, () => {});
    const gaps = { n: 0 };
    const subscription = await subscriber.subscribe('c', {
      onMessage: () => {},
      onGap: () => {
        gaps.n++;
      },
    });
    expect(subscription.active).toBe(false);
    client.status = 'ready';
    client.emit('ready');
    await tick();
    expect(subscription.active).toBe(true);
    expect(gaps.n).toBe(1);
    subscriber.close();
  });

  it('a channel subscribed at once on a ready connection tells of no gap', async () => {
    const client = fakeClient();
    client.status = 'ready';
    const subscriber = new Subscriber(client as unknown as RedisClient, () => {});
    const gaps = { n: 0 };
    const subscription = await subscriber.subscribe('c', {
      onMessage: () => {},
      onGap: () => {
        gaps.n++;
      },
    });
    expect(subscription.active).toBe(true);
    expect(gaps.n).toBe(0);
    subscriber.close();
  });
});
