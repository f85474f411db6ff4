import { setTimeout as sleep } from 'node:timers/promises';
import { createKeystore, createMemoryProvider, Keystore } from '@keystore/core';
import { createMaterialProvider, materialStoreOf } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoreCache, withRedisCache } from '../src/index.js';
import { opaque } from './support/cached.js';
import { context, roundTrips, runOptions, untilConnected } from './support/topology/cached-memory.js';
import { ClusterSet } from './support/topology/cluster-set.js';

// Only for the skip: the three cluster nodes are this file's own.
const redis = await requireService('redis');
const options = runOptions();
const prefixOf = (namespace: string) => `${options({}).prefix}${namespace}:`;

describe.skipIf(redis.skip)('Cluster: three masters', () => {
  const cluster = new ClusterSet();

  beforeAll(async () => {
    await cluster.start(3);
  }, 40_000);

  afterAll(async () => {
    await cluster.dispose();
  });

  it('caches through cluster: { nodes } (a cold wrapper on another start node reads Redis)', async () => {
    const w = options({ cluster: { nodes: cluster.startNode(0) }, namespace: 'cluster' });
    const r = options({ cluster: { nodes: cluster.startNode(1) }, namespace: 'cluster' });
    const memory = await createMemoryProvider({ keys: ['patients'] });
    const memoryStore = materialStoreOf(memory);
    if (memoryStore === undefined) throw new Error('no store');
    const a = await untilConnected(await withRedisCache(memory, w));
    const b = await untilConnected(await withRedisCache(createMaterialProvider(memoryStore), r));
    await roundTrips(a, b);
    expect(b.stats().hits.redis).toBeGreaterThan(0);
    expect(a.stats().errors + b.stats().errors).toBe(0);
    expect((await cluster.keys(prefixOf('cluster'))).length).toBeGreaterThan(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('a rotation on one start node reaches a wrapper on another over pub/sub', async () => {
    const memory = await createMemoryProvider({ keys: ['patients'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const l1 = { maxEntries: 100, ttlSeconds: 60 };
    const a = await withRedisCache(
      memory,
      options({ cluster: { nodes: cluster.startNode(0) }, namespace: 'rot', l1 }),
    );
    const b = await withRedisCache(
      createMaterialProvider(store),
      options({ cluster: { nodes: cluster.startNode(2) }, namespace: 'rot', l1 }),
    );
    await Promise.all([untilConnected(a), untilConnected(b)]);
    const ksA = new Keystore({ provider: a, allowedKeys: '*' });
    const ksB = new Keystore({ provider: b, allowedKeys: '*' });
    expect(ksB.inspect(await ksB.encrypt('v1', { key: 'patients', context })).version).toBe(1);

    const rotated = performance.now();
    await ksA.rotate('patients');
    let version = 1;
    while (version !== 2 && performance.now() - rotated < 2_000) {
      version = ksB.inspect(await ksB.encrypt('x', { key: 'patients', context })).version;
      if (version !== 2) await sleep(1);
    }
    const ms = performance.now() - rotated;
    console.info(`[cluster] rotation seen by the wrapper on another start node after ${ms.toFixed(1)} ms`);
    expect(version).toBe(2);
    expect(b.stats().invalidations).toBe(1);
    await Promise.all([ksA.close(), ksB.close()]);
  });

  it('an invalidation deleting entries on several slots and nodes deletes them all (no CROSSSLOT)', async () => {
    const namespace = 'multi';
    const { provider } = opaque(await createMemoryProvider({ keys: ['k'] }));
    const cached = await untilConnected(
      await withRedisCache(provider, options({ cluster: { nodes: cluster.startNode(0) }, namespace })),
    );
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    // Each envelope has its own data key: one d: entry per decrypt.
    for (let i = 0; i < 12; i++) {
      const envelope = await keystore.encrypt(`m${i}`, { key: 'k', context });
      expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe(`m${i}`);
    }
    const perNode = await cluster.keysPerNode(`${prefixOf(namespace)}d:`);
    expect(perNode.flat()).toHaveLength(12);
    // Else one DEL would not have crossed slots, and the test would show nothing.
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    const errors = cached.stats().errors;

    await keystore.rotate('k');
    expect(cached.stats().errors).toBe(errors); // a refused DEL is counted (fail-open) as an error
    expect(await cluster.keys(`${prefixOf(namespace)}d:`)).toEqual([]);
    await keystore.close();
  });

  it('through the cache block of createKeystore', async () => {
    const o = options({});
    const keystore = await createKeystore(
      {
        provider: { type: 'memory', keys: ['patients'] },
        defaultKey: 'patients',
        cache: {
          type: 'redis',
          cluster: { nodes: cluster.startNode(1) },
          cacheKey: o.cacheKey,
          prefix: o.prefix,
        },
      },
      { caches: { redis: keystoreCache } },
    );
    const started = performance.now();
    let keys: string[] = [];
    // The cache connects in the background and skips Redis until then.
    while (keys.length === 0 && performance.now() - started < 5_000) {
      const envelope = await keystore.encrypt('AB+', { context });
      expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe('AB+');
      keys = await cluster.keys(o.prefix);
      if (keys.length === 0) await sleep(50);
    }
    expect(keys.length).toBeGreaterThan(0);
    await keystore.close();
  });
});
