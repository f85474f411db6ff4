import { setTimeout as sleep } from 'node:timers/promises';
import { createKeystore, createMemoryProvider, Keystore } from '@keystore/core';
import { createMaterialProvider, materialStoreOf } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTag } from '../src/cache/entry-names.js';
import {
  createRedisConnection,
  keystoreCache,
  type RedisConnection,
  RedisUnavailable,
  withRedisCache,
} from '../src/index.js';
import { opaque } from './support/cached.js';
import { inCallOf } from './support/deadline.js';
import { context, roundTrips, runOptions, untilConnected } from './support/topology/cached-memory.js';
import { ClusterSet } from './support/topology/cluster-set.js';
import { until } from './support/topology/until.js';

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

  it("a key's entries share one slot, keys spread over nodes; invalidations there work (no CROSSSLOT)", async () => {
    const namespace = 'multi';
    const ids = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    const { provider } = opaque(await createMemoryProvider({ keys: ids }));
    const cached = await untilConnected(
      await withRedisCache(provider, options({ cluster: { nodes: cluster.startNode(0) }, namespace })),
    );
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    // Each envelope has its own data key: one d: entry per decrypt, two per key.
    for (const key of ids) {
      for (let i = 0; i < 2; i++) {
        const envelope = await keystore.encrypt(`${key}-${i}`, { key, context });
        expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe(`${key}-${i}`);
      }
    }
    const perNode = await cluster.keysPerNode(`${prefixOf(namespace)}d:`);
    expect(perNode.flat()).toHaveLength(12);
    // The key's {tag} is its names' hash tag: its entries (and its generation counter) sit on one node, so a
    // read (MGET of entry and counter) and an invalidation (a script over both) never cross slots ...
    for (const key of ids) {
      const holders = perNode.filter((keys) => keys.some((k) => k.includes(`{${keyTag(key)}}`)));
      expect(holders).toHaveLength(1);
    }
    // ... while the keys themselves spread over the nodes (else the test would show nothing of a Cluster).
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    const errors = cached.stats().errors;

    for (const key of ids) await keystore.rotate(key);
    expect(cached.stats().errors).toBe(errors); // a refused command is counted (fail-open) as an error
    expect(await cluster.keys(`${prefixOf(namespace)}d:`)).toEqual([]);
    expect(await cluster.keys(`${prefixOf(namespace)}g:`)).toHaveLength(ids.length);
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
      keys = await cluster.keys(o.prefix ?? '');
      if (keys.length === 0) await sleep(50);
    }
    expect(keys.length).toBeGreaterThan(0);
    await keystore.close();
  });
});

describe.skipIf(redis.skip)('Cluster: redirections and CLUSTERDOWN fail fast', () => {
  const cluster = new ClusterSet();
  const key = `${options({}).prefix}redirect`;
  let connection: RedisConnection;
  /** The node owning `key`'s slot, and another one. */
  let source: Redis;
  let destination: Redis;
  let slot: number;

  beforeAll(async () => {
    await cluster.start(3);
    const clients = cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1', { maxRetriesPerRequest: 0 }));
    slot = Number(await clients[0]?.call('CLUSTER', 'KEYSLOT', key));
    const owners = await Promise.all(clients.map((c) => owns(c, slot)));
    const i = owners.indexOf(true);
    source = clients[i] as Redis;
    destination = clients[(i + 1) % clients.length] as Redis;
    for (const [j, c] of clients.entries()) if (j !== i && c !== destination) c.disconnect();
    connection = createRedisConnection({ cluster: { nodes: cluster.startNode(0) } });
    await until('cluster connection ready', async () => connection.ready, 10_000);
  }, 40_000);

  afterAll(async () => {
    await connection?.close();
    source?.disconnect();
    destination?.disconnect();
    await cluster.dispose();
  });

  /** GETs the two nodes got, answered or redirected: how many times a command was sent around. */
  async function gets(): Promise<number> {
    let total = 0;
    for (const c of [source, destination]) {
      // A redirected command is counted as rejected, not as a call.
      const line = (await c.info('commandstats')).match(/cmdstat_get:[^\r\n]*/)?.[0] ?? '';
      total +=
        Number(line.match(/\bcalls=(\d+)/)?.[1] ?? 0) + Number(line.match(/rejected_calls=(\d+)/)?.[1] ?? 0);
    }
    return total;
  }

  it('a slot migrating to a node that does not import it (ASK, MOVED, ASK, ...): fails after 4 redirections, at once', async () => {
    const destinationId = String(await destination.call('CLUSTER', 'MYID'));
    await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', destinationId);
    try {
      const before = await gets();
      const started = performance.now();
      const error = await inCallOf(2_000, () => connection.get(key)).catch((e: unknown) => e);
      const ms = performance.now() - started;
      const sent = (await gets()) - before;
      console.info(`[cluster] ASK/MOVED loop: failed after ${ms.toFixed(1)} ms, the GET sent ${sent} times`);
      expect(error).toBeInstanceOf(RedisUnavailable);
      expect((error as RedisUnavailable).failure).toBe('error');
      expect(ms).toBeLessThan(200);
      expect(sent).toBeLessThanOrEqual(5);
    } finally {
      await source.call('CLUSTER', 'SETSLOT', slot, 'STABLE');
    }
    await inCallOf(2_000, () => connection.get(key)); // answers again
  });

  it('CLUSTERDOWN (a slot no node serves): the command fails at once, not after retries', async () => {
    await source.call('CLUSTER', 'DELSLOTS', slot);
    try {
      await until(
        'CLUSTERDOWN',
        async () =>
          await source.get(key).then(
            () => false,
            (e: Error) => /CLUSTERDOWN/.test(e.message),
          ),
        5_000,
      );
      const started = performance.now();
      const error = await inCallOf(2_000, () => connection.get(key)).catch((e: unknown) => e);
      const ms = performance.now() - started;
      console.info(`[cluster] CLUSTERDOWN: ${(error as RedisUnavailable).failure} after ${ms.toFixed(1)} ms`);
      expect(error).toBeInstanceOf(RedisUnavailable);
      expect((error as RedisUnavailable).failure).not.toBe('timeout');
      expect(ms).toBeLessThan(100);
    } finally {
      await source.call('CLUSTER', 'ADDSLOTS', slot);
    }
  });
});

async function owns(client: Redis, slot: number): Promise<boolean> {
  const myId = String(await client.call('CLUSTER', 'MYID'));
  const shards = String(await client.call('CLUSTER', 'NODES'));
  const mine = shards.split('\n').find((line) => line.startsWith(myId));
  return (mine ?? '')
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return from !== undefined && slot >= from && slot <= (to as number);
    });
}
