import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryProvider, Fernet, isKeystoreError, Keystore } from '@keystore/core';
import { createMaterialProvider, type KeyProvider, materialStoreOf } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheInFront } from '../src/cache/cached-provider.js';
import { generationName, keyTag, materialEntryName } from '../src/cache/entry-names.js';
import { ValueCodec } from '../src/codec/value-codec.js';
import { CacheCounters } from '../src/connection/stats.js';
import { RedisUnavailable } from '../src/errors.js';
import {
  type CachedProvider,
  createRedisConnection,
  EncryptedCache,
  type RedisConnection,
  type WithRedisCacheOptions,
  withRedisCache,
} from '../src/index.js';
import { opaque } from './support/cached.js';

const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const run = randomBytes(6).toString('hex');
const prefix = `kstest:${run}:`;
const cacheKey = Fernet.generateKey();
const context = { table: 'patients', id: '4711' };
const TTL = 120;
/** A bare client of the test's own, to look at what the cache left in Redis. */
const raw = new Redis(url, { lazyConnect: true });
const opened: { close(): Promise<void> }[] = [];

const options = (namespace: string): WithRedisCacheOptions => ({
  url: { value: url },
  cacheKey: { value: cacheKey },
  prefix,
  namespace,
  ttlSeconds: TTL,
  l1: { maxEntries: 100, ttlSeconds: 60 },
});

afterAll(async () => {
  await Promise.all(opened.map((o) => o.close().catch(() => {})));
  if (raw.status === 'wait') return;
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

async function until(ok: () => boolean, what: string, ms = 5_000): Promise<void> {
  const started = performance.now();
  while (!ok()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(2);
  }
}

/** A wrapper (one "process": its own two connections), once connected and subscribed. */
async function wrapper(provider: KeyProvider, namespace: string): Promise<CachedProvider> {
  const cached = await withRedisCache(provider, options(namespace));
  opened.push(cached);
  await until(() => cached.stats().connected && cached.stats().subscribed, 'subscribed');
  return cached;
}

/** A "process" whose subscriber is down: it never hears an invalidation; its commands work. */
async function deaf(provider: KeyProvider, namespace: string): Promise<CachedProvider> {
  const counters = new CacheCounters();
  const connection = createRedisConnection({ url }, { counters });
  const refusing: RedisConnection = Object.create(connection, {
    subscribe: {
      value: async () => {
        throw new RedisUnavailable('subscribe', 'not-connected', 'the subscriber is down (test)');
      },
    },
  });
  const cache = new EncryptedCache(
    refusing,
    new ValueCodec({ cacheKey, maxTtlSeconds: TTL }),
    counters,
    `${prefix}${namespace}:`,
  );
  const cached = await cacheInFront(provider, {
    connection: refusing,
    cache,
    counters,
    prefix,
    namespace,
    ttlSeconds: TTL,
    onRedisError: 'fail-open',
  });
  opened.push(cached);
  await until(() => connection.ready, 'connected');
  return cached;
}

/** Closing a wrapper closes what it fronts: these share one memory provider or store, kept open. */
const kept = <T extends { close(): Promise<void> }>(shared: T): T => ({ ...shared, close: async () => {} });

const ns = (what: string) => `${what}-${randomBytes(4).toString('hex')}`;

describe.skipIf(redis.skip)('per-key generations in the shared Redis', () => {
  it("after deleteKey in A, a cold C never gets the key's data keys that another process left in Redis", async () => {
    const namespace = ns('delete');
    const memory = await createMemoryProvider({ keys: ['k'] });
    // B: a process that decrypted, wrote the data key to Redis, and is gone (so nobody's L1 names it).
    const b = await wrapper(kept(opaque(memory).provider), namespace);
    const ksB = new Keystore({ provider: b, allowedKeys: '*' });
    const envelope = await ksB.encrypt('blood type AB+', { key: 'k', context });
    await ksB.decrypt(envelope, { context });
    await ksB.close();
    const tag = keyTag('k');
    expect(await raw.keys(`${prefix}${namespace}:d:{${tag}}:*`)).toHaveLength(1);

    // A: a cold process deletes the key.
    const a = await wrapper(opaque(memory).provider, namespace);
    await a.deleteKey?.('k', { confirm: 'k' });
    expect(await raw.get(`${prefix}${namespace}:${generationName(tag)}`)).toBe('1');
    const counterTtl = await raw.ttl(`${prefix}${namespace}:${generationName(tag)}`);
    expect(counterTtl).toBeGreaterThan(TTL);
    expect(counterTtl).toBeLessThanOrEqual(2 * TTL);

    // C: cold L1. The entry B left is still in Redis, but of generation 0: not an answer.
    const c = opaque(memory);
    const cachedC = await wrapper(c.provider, namespace);
    const ksC = new Keystore({ provider: cachedC, allowedKeys: '*' });
    const error = await ksC.decrypt(envelope, { context }).catch((e: unknown) => e);
    expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    expect(cachedC.stats().hits.redis).toBe(0);
    expect(cachedC.stats().dropped).toBe(0); // outdated is not tampered
    expect(cachedC.stats().invalidations).toBe(1);
    expect(c.calls.unwrapKey).toBe(1);
  });

  it('after a rotation in A, a cold C reads the new record, and both see the same generation', async () => {
    const namespace = ns('rotate');
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const a = await wrapper(createMaterialProvider(kept(store)), namespace);
    const ksA = new Keystore({ provider: a, allowedKeys: '*' });
    await ksA.encrypt('warm', { key: 'k', context });
    for (let i = 2; i <= 4; i++) {
      expect((await ksA.rotate('k')).latestVersion).toBe(i);
      // The new record is read back into Redis (under the new generation) by A's next encryption.
      expect(ksA.inspect(await ksA.encrypt('x', { key: 'k', context })).version).toBe(i);
      const c = await wrapper(createMaterialProvider(kept(store)), namespace);
      const ksC = new Keystore({ provider: c, allowedKeys: '*' });
      expect(ksC.inspect(await ksC.encrypt('x', { key: 'k', context })).version).toBe(i);
      await ksC.close();
    }
    expect(await raw.get(`${prefix}${namespace}:${generationName(keyTag('k'))}`)).toBe('3');
  });

  it('a process whose subscriber is down cannot SET a record it loaded before the change', async () => {
    const namespace = ns('late-set');
    const memory = await createMemoryProvider({ keys: ['k'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    // P's store load reads version 1's record, then waits until A has rotated.
    let release: () => void = () => {};
    let started: () => void = () => {};
    const loading = new Promise<void>((resolve) => (started = resolve));
    const slowStore = {
      ...store,
      load: async (keyId: string) => {
        const key = await store.load(keyId);
        started();
        await new Promise<void>((resolve) => (release = resolve));
        return key;
      },
    };
    const p = await deaf(createMaterialProvider(slowStore), namespace);
    expect(p.stats().subscribed).toBe(false);
    const pending = p.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context });
    await loading;

    const a = await wrapper(createMaterialProvider(store), namespace);
    await a.rotateKey?.('k');
    release();
    expect((await pending).version).toBe(1); // answered, as it began before the change
    expect(p.stats().invalidations).toBe(1); // its SET was refused
    // Nothing stale reached Redis: a cold C reads version 2.
    const name = `${prefix}${namespace}:${materialEntryName(keyTag('k'))}`;
    expect(await raw.get(name)).toBeNull();
    const c = await wrapper(createMaterialProvider(store), namespace);
    expect((await c.wrapKey({ keyId: 'k', plaintext: new Uint8Array(32), context })).version).toBe(2);
  });

  it('a conditional SET is refused once the generation moved on, and an outdated value is not read', async () => {
    const counters = new CacheCounters();
    const connection = createRedisConnection({ url }, { counters });
    opened.push(connection);
    await until(() => connection.ready, 'connected');
    const cache = new EncryptedCache(
      connection,
      new ValueCodec({ cacheKey, maxTtlSeconds: TTL }),
      counters,
      `${prefix}${ns('direct')}:`,
    );
    const [entry, counter] = ['m:{t}', 'g:{t}'];
    const before = await cache.read(entry, counter);
    expect(before).toEqual({ outdated: false, generation: 0 });
    expect(await cache.setIfGeneration(entry, counter, new Uint8Array([1]), TTL, 0, 2 * TTL)).toBe(true);
    expect((await cache.read(entry, counter)).value).toEqual(new Uint8Array([1]));
    await cache.nextGeneration(counter, [], 2 * TTL);
    // The value stays in Redis (no DEL named it) but is outdated; a SET under generation 0 is refused.
    expect(await cache.read(entry, counter)).toEqual({ outdated: true, generation: 1 });
    expect(await cache.setIfGeneration(entry, counter, new Uint8Array([2]), TTL, 0, 2 * TTL)).toBe(false);
    expect(await cache.setIfGeneration(entry, counter, new Uint8Array([3]), TTL, 1, 2 * TTL)).toBe(true);
    expect((await cache.read(entry, counter)).value).toEqual(new Uint8Array([3]));
    // A counter set by hand to garbage: nothing read is trusted, nothing stored.
    await raw.set(`${cache.prefix}${counter}`, 'x', 'EX', 60);
    expect(await cache.read(entry, counter)).toEqual({ outdated: true, generation: undefined });
  });
});
