import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeystore, Fernet } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ValueCodec } from '../src/codec/value-codec.js';
import { CacheCounters } from '../src/connection/stats.js';
import {
  type CachedProviderStats,
  createRedisConnection,
  EncryptedCache,
  keystoreCache,
  type RedisConnection,
} from '../src/index.js';
import { inCallOf } from './support/deadline.js';
import { freePort, PrivateRedis } from './support/private-redis.js';

const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const run = randomBytes(6).toString('hex');
const prefix = `kstest:${run}:`;
const cacheKey = Fernet.generateKey();
const opened: RedisConnection[] = [];
/** A bare client of the test's own, to look at what the cache left in Redis. */
const raw = new Redis(url, { lazyConnect: true });

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  if (raw.status !== 'wait') {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  }
});

function connection(options: Parameters<typeof createRedisConnection>[0], counters = new CacheCounters()) {
  const c = createRedisConnection(options, { counters });
  opened.push(c);
  return c;
}

async function untilReady(c: RedisConnection, ms = 5_000): Promise<number> {
  const started = performance.now();
  while (!c.ready) {
    if (performance.now() - started > ms) throw new Error(`not ready within ${ms} ms`);
    await sleep(10);
  }
  return performance.now() - started;
}

/** How long `fn` takes to settle, and how. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  return { ms: performance.now() - started, error };
}

describe.skipIf(redis.skip)('the connection against the shared Redis', () => {
  it('stores values encrypted: round trip, a raw GET shows no plaintext, delete', async () => {
    const counters = new CacheCounters();
    const c = connection({ url }, counters);
    await untilReady(c);
    const cache = new EncryptedCache(c, new ValueCodec({ cacheKey, maxTtlSeconds: 300 }), counters, prefix);
    const material = randomBytes(32);
    await cache.set('material:patients', material, 60);
    expect(Buffer.from((await cache.get('material:patients')) ?? [])).toEqual(material);

    const stored = (await raw.get(`${prefix}material:patients`)) ?? '';
    expect(stored).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    const decoded = Buffer.from(stored, 'base64url');
    expect(decoded.includes(material)).toBe(false);
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(stored).not.toContain(material.toString(encoding));
    }
    const ttl = await raw.ttl(`${prefix}material:patients`);
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);

    expect(await cache.delete(['material:patients', 'material:absent'])).toBe(1);
    expect(await cache.get('material:patients')).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1, dropped: 0, errors: 0, offline: 0 });
  });

  it('drops and counts a value tampered with or copied to another key in Redis', async () => {
    const counters = new CacheCounters();
    const c = connection({ url }, counters);
    await untilReady(c);
    const cache = new EncryptedCache(c, new ValueCodec({ cacheKey, maxTtlSeconds: 300 }), counters, prefix);
    await cache.set('a', randomBytes(32), 60);
    const token = (await raw.get(`${prefix}a`)) ?? '';
    await raw.set(`${prefix}b`, token, 'EX', 60);
    await raw.set(
      `${prefix}c`,
      `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`,
      'EX',
      60,
    );
    await raw.set(`${prefix}d`, 'garbage', 'EX', 60);
    for (const name of ['b', 'c', 'd']) expect(await cache.get(name)).toBeUndefined();
    expect(c.stats()).toMatchObject({ dropped: 3, hits: 0 });
    await sleep(50);
    // Dropped values are removed, so the next reader does not decrypt them again.
    expect(await raw.exists(`${prefix}b`, `${prefix}c`, `${prefix}d`)).toBe(0);
  });

  it('publishes to subscribers', async () => {
    const c = connection({ url });
    await untilReady(c);
    const heard: string[] = [];
    const subscription = await c.subscribe(`${prefix}invalidate`, { onMessage: (m) => heard.push(m) });
    const started = performance.now();
    while (!subscription.active && performance.now() - started < 5_000) await sleep(10);
    expect(subscription.active).toBe(true);
    expect(await c.publish(`${prefix}invalidate`, 'patients')).toBe(1);
    while (heard.length === 0 && performance.now() - started < 5_000) await sleep(5);
    expect(heard).toEqual(['patients']);
    await subscription.unsubscribe();
  });

  it('tells a subscriber of the gap when the connection drops, and again once subscribed anew', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    try {
      const c = connection({ url: server.url });
      await untilReady(c);
      const heard: string[] = [];
      let gaps = 0;
      const subscription = await c.subscribe(`${prefix}gap`, {
        onMessage: (m) => heard.push(m),
        onGap: () => gaps++,
      });
      const until = async (done: () => boolean) => {
        const started = performance.now();
        while (!done() && performance.now() - started < 8_000) await sleep(10);
      };
      await until(() => subscription.active);
      // The subscriber connection was new: subscribed after the call, so what came before may have missed a message.
      expect(gaps).toBe(1);
      await server.stop();
      await until(() => gaps === 2);
      expect([gaps, subscription.active]).toEqual([2, false]);
      await server.start();
      await until(() => subscription.active);
      // The second gap: whatever was cached while the subscription was down is to be dropped too.
      expect(gaps).toBe(3);
      await untilReady(c); // the command connection comes back on its own schedule
      expect(await c.publish(`${prefix}gap`, 'rotated')).toBe(1);
      await until(() => heard.length > 0);
      expect(heard).toEqual(['rotated']);
      await subscription.unsubscribe();
    } finally {
      await server.stop();
    }
  });

  it('opens with createKeystore and closes with it', async () => {
    const clientName = `kstest-${run}`;
    const names = async () =>
      ((await raw.client('LIST')) as string).match(new RegExp(`name=${clientName}\\b`, 'g')) ?? [];
    const keystore = await createKeystore(
      {
        provider: { type: 'memory', keys: ['patients'] },
        defaultKey: 'patients',
        cache: { type: 'redis', url: { value: url }, cacheKey: { value: cacheKey }, prefix, clientName },
      },
      { caches: { redis: keystoreCache } },
    );
    const started = performance.now();
    // Two: commands, and the subscriber the cache listens for invalidations on.
    while ((await names()).length < 2 && performance.now() - started < 5_000) await sleep(10);
    expect(await names()).toHaveLength(2);
    const envelope = await keystore.encrypt('AB+', { context: { id: '1' } });
    expect(Buffer.from(await keystore.decrypt(envelope, { context: { id: '1' } })).toString()).toBe('AB+');
    // The cache's counters through the keystore: the memory store's record was loaded once, then from the L1.
    const [only, ...others] = keystore.cacheStats();
    expect(others).toEqual([]);
    expect(only).toMatchObject({ recipient: 'memory', provider: 'memory' });
    const stats = only?.stats as CachedProviderStats;
    expect(stats.misses).toBe(1);
    expect(stats.hits.l1).toBeGreaterThanOrEqual(1);
    await keystore.close();
    while ((await names()).length > 0 && performance.now() - started < 5_000) await sleep(10);
    expect(await names()).toHaveLength(0);
  });
});

describe.skipIf(redis.skip)('a Redis that is down, and comes back', () => {
  it('fails every call fast while nothing listens, and runs none of them once Redis is there', async () => {
    const server = new PrivateRedis(await freePort());
    const c = connection({ url: server.url });
    await sleep(100); // the background connect has been refused by now
    const calls: { ms: number; error: unknown }[] = [];
    for (let i = 0; i < 20; i++) {
      calls.push(await inCallOf(2_000, () => timed(() => c.set(`${prefix}queued:${i}`, 'v', 60))));
      calls.push(await inCallOf(2_000, () => timed(() => c.get(`${prefix}queued:${i}`))));
    }
    const worst = Math.max(...calls.map((r) => r.ms));
    console.info(`[redis] down: 40 calls with a 2 s deadline failed, the slowest in ${worst.toFixed(2)} ms`);
    expect(worst).toBeLessThan(1_000);
    for (const r of calls)
      expect(r.error).toMatchObject({ code: 'ProviderUnavailable', failure: 'not-connected' });
    expect(c.stats()).toMatchObject({ offline: 40 });
    expect(c.stats().connectionErrors).toBeGreaterThan(0);

    await server.start();
    try {
      const reconnectMs = await untilReady(c, 10_000);
      console.info(`[redis] came up: ready again after ${reconnectMs.toFixed(0)} ms`);
      const probe = new Redis(server.url);
      try {
        expect(await probe.dbsize()).toBe(0); // not one of the 20 SETs ran
      } finally {
        probe.disconnect();
      }
      await c.set(`${prefix}after`, 'v', 60);
      expect(await c.get(`${prefix}after`)).toBe('v');
    } finally {
      await server.stop();
    }
  });

  it("bounds a command to a hung Redis by the caller's deadline, and by commandTimeoutMs", async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    try {
      const c = connection({ url: server.url, commandTimeoutMs: 5_000 });
      await untilReady(c);
      server.pause();
      // A 300 ms call keeps 30 ms back for a commit: the GET has 270 ms, not the connection's 5 s.
      const bounded = await inCallOf(300, () => timed(() => c.get(`${prefix}k`)));
      console.info(`[redis] hung: a GET in a 300 ms call failed after ${bounded.ms.toFixed(0)} ms`);
      expect(bounded.error).toMatchObject({ code: 'ProviderUnavailable', failure: 'timeout' });
      expect(bounded.ms).toBeGreaterThan(200);
      expect(bounded.ms).toBeLessThan(300);
      const short = connection({ url: server.url, commandTimeoutMs: 50 });
      server.resume();
      await untilReady(short);
      server.pause();
      const capped = await inCallOf(2_000, () => timed(() => short.get(`${prefix}k`)));
      expect(capped.error).toMatchObject({ failure: 'timeout' });
      expect(capped.ms).toBeLessThan(150);
      expect(c.stats().timeouts + short.stats().timeouts).toBe(2);
    } finally {
      server.resume();
      await server.stop();
    }
  });

  it('reconnects in the background after a restart, failing fast meanwhile', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    try {
      const c = connection({ url: server.url });
      await untilReady(c);
      await c.set(`${prefix}k`, 'v', 60);
      await server.stop();
      const down = await inCallOf(2_000, () => timed(() => c.get(`${prefix}k`)));
      expect(down.error).toMatchObject({ code: 'ProviderUnavailable' });
      expect(down.ms).toBeLessThan(1_000);
      await sleep(300);
      await server.start();
      const reconnectMs = await untilReady(c, 10_000);
      console.info(`[redis] restarted: ready again ${reconnectMs.toFixed(0)} ms after it came up`);
      expect(reconnectMs).toBeLessThan(3_000);
      expect(await c.get(`${prefix}k`)).toBeUndefined(); // a fresh server: nothing was persisted
      await c.set(`${prefix}k`, 'w', 60);
      expect(await c.get(`${prefix}k`)).toBe('w');
    } finally {
      await server.stop();
    }
  });
});
