import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeystore, createMemoryProvider, Keystore } from '@keystore/core';
import { createMaterialProvider, materialStoreOf } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoreCache, withRedisCache } from '../src/index.js';
import {
  context,
  roundTrips,
  runOptions,
  untilConnected,
  writerAndReader,
} from './support/topology/cached-memory.js';
import { DOWN_AFTER_MS, MASTER_NAME, SentinelSet } from './support/topology/sentinel-set.js';
import { until } from './support/topology/until.js';

// Only for the skip: the master, replica and sentinel are this file's own.
const redis = await requireService('redis');
const options = runOptions();

describe.skipIf(redis.skip)('Sentinel: one master, one replica, one sentinel', () => {
  const set = new SentinelSet();

  beforeAll(async () => {
    await set.start(1);
  }, 30_000);

  afterAll(async () => {
    await set.dispose();
  });

  it('caches through sentinels: { name, nodes } (a cold wrapper reads Redis)', async () => {
    const o = options({ sentinels: { name: MASTER_NAME, nodes: set.nodes }, namespace: 'sentinel' });
    const { writer, reader } = await writerAndReader(o);
    await Promise.all([untilConnected(writer), untilConnected(reader)]);
    await roundTrips(writer, reader);
    expect(reader.stats().hits.redis).toBeGreaterThan(0);
    expect(reader.stats().errors + writer.stats().errors).toBe(0);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('and through the cache block of createKeystore', async () => {
    const o = options({});
    const keystore = await createKeystore(
      {
        provider: { type: 'memory', keys: ['patients'] },
        defaultKey: 'patients',
        cache: {
          type: 'redis',
          sentinels: { name: MASTER_NAME, nodes: set.nodes },
          cacheKey: o.cacheKey,
          prefix: o.prefix,
        },
      },
      { caches: { redis: keystoreCache } },
    );
    const envelope = await keystore.encrypt('AB+', { context });
    expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe('AB+');
    await keystore.close();
  });

  it('a failover asked of the sentinel (the old master up, demoted later): writes and DELs go to the new master', async () => {
    const memory = await createMemoryProvider({ keys: ['a', 'b'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const namespace = 'manual';
    const o = options({
      sentinels: { name: MASTER_NAME, nodes: set.nodes },
      namespace,
      l1: { maxEntries: 1, ttlSeconds: 60 },
    });
    const writer = await untilConnected(await withRedisCache(memory, o));
    const reader = await untilConnected(await withRedisCache(createMaterialProvider(store), o));
    const ksW = new Keystore({ provider: writer, allowedKeys: '*' });
    const ksR = new Keystore({ provider: reader, allowedKeys: '*' });
    /** A rotation (a DEL in Redis), then an encrypt that stores the record again, and a decrypt: checked. */
    const step = async () => {
      for (const key of ['a', 'b']) {
        await ksW.rotate(key);
        const plaintext = `p-${randomBytes(6).toString('hex')}`;
        const envelope = await ksW.encrypt(plaintext, { key, context });
        expect(Buffer.from(await ksR.decrypt(envelope, { context })).toString()).toBe(plaintext);
      }
    };
    await step();
    const oldPort = await set.masterPort();
    const newMaster = new Redis(set.other(set.serverOn(oldPort)).port, '127.0.0.1');
    const pattern = `${o.prefix}${namespace}:*`;
    expect(await newMaster.keys(pattern)).not.toEqual([]); // replicated
    const sentinel = new Redis(set.sentinels[0]?.port ?? 0, '127.0.0.1');
    await sentinel.call('SENTINEL', 'FAILOVER', MASTER_NAME);
    sentinel.disconnect();
    const asked = performance.now();
    // Empty the new master (it is ours alone): what the cache writes from now on shows where it goes.
    await until('promoted', async () => (await newMaster.role())[0] === 'master', 10_000);
    const promotedMs = performance.now() - asked;
    await newMaster.del(...(await newMaster.keys(pattern)));
    let landedMs: number | undefined;
    while (landedMs === undefined && performance.now() - asked < 15_000) {
      await step();
      if ((await newMaster.keys(pattern)).length > 0) landedMs = performance.now() - asked;
      else await sleep(10);
    }
    const errors = writer.stats().errors + reader.stats().errors;
    console.info(
      `[sentinel] SENTINEL FAILOVER: replica promoted after ${promotedMs.toFixed(0)} ms, the cache's writes on it after ${landedMs?.toFixed(0)} ms (${errors} Redis errors)`,
    );
    expect(landedMs).toBeDefined();
    expect(landedMs).toBeLessThan(5_000);
    newMaster.disconnect();
    await Promise.all([ksW.close(), ksR.close()]);
  }, 30_000);

  it('the master killed: fails open meanwhile, every call right, and hits Redis again on the promoted replica', async () => {
    const memory = await createMemoryProvider({ keys: ['a', 'b'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    // One L1 entry for two keys: every lookup that alternates between them goes to Redis.
    const o = options({
      sentinels: { name: MASTER_NAME, nodes: set.nodes },
      namespace: 'failover',
      l1: { maxEntries: 1, ttlSeconds: 60 },
    });
    const writer = await untilConnected(await withRedisCache(memory, o));
    const reader = await untilConnected(await withRedisCache(createMaterialProvider(store), o));
    const ksW = new Keystore({ provider: writer, allowedKeys: '*' });
    const ksR = new Keystore({ provider: reader, allowedKeys: '*' });
    const oldMaster = await set.masterPort();
    const master = set.serverOn(oldMaster);

    let ops = 0;
    /** One encrypt and one decrypt on each key, checked; the reader's Redis hits before and after. */
    const step = async () => {
      for (const key of ['a', 'b']) {
        const plaintext = `p-${randomBytes(6).toString('hex')}`;
        const envelope = await ksW.encrypt(plaintext, { key, context });
        expect(Buffer.from(await ksR.decrypt(envelope, { context })).toString()).toBe(plaintext);
        ops += 2;
      }
    };
    await step();
    await step();
    expect(reader.stats().hits.redis).toBeGreaterThan(0);

    await master.kill();
    const killed = performance.now();
    const errorsBefore = reader.stats().errors + writer.stats().errors;
    let resumedMs: number | undefined;
    let promotedMs: number | undefined;
    let hitsAtPromotion = 0;
    while (resumedMs === undefined && performance.now() - killed < 20_000) {
      await step();
      if (promotedMs === undefined && (await set.masterPort().catch(() => oldMaster)) !== oldMaster) {
        promotedMs = performance.now() - killed;
        hitsAtPromotion = reader.stats().hits.redis;
      }
      // A hit after the promotion can only come from the new master (the old one is dead).
      if (
        promotedMs !== undefined &&
        reader.stats().connected &&
        reader.stats().hits.redis > hitsAtPromotion
      ) {
        resumedMs = performance.now() - killed;
      }
      await sleep(10);
    }
    const errors = reader.stats().errors + writer.stats().errors - errorsBefore;
    console.info(
      `[sentinel] master killed: promoted after ${promotedMs?.toFixed(0)} ms (down-after ${DOWN_AFTER_MS} ms), ` +
        `Redis hits again after ${resumedMs?.toFixed(0)} ms; ${ops} operations, all right, ${errors} Redis errors meanwhile`,
    );
    expect(await set.masterPort()).toBe(set.other(master).port);
    expect(resumedMs).toBeDefined();
    expect(resumedMs).toBeLessThan(10_000);
    expect(errors).toBeGreaterThan(0);
    await Promise.all([ksW.close(), ksR.close()]);
  }, 30_000);
});
