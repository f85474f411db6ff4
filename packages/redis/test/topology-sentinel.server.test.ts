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

  it('a failover asked of the sentinel (the old master alive, demoted): writes reach the new master again', async () => {
    const memory = await createMemoryProvider({ keys: ['a', 'b'] });
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const o = options({
      sentinels: { name: MASTER_NAME, nodes: set.nodes },
      namespace: 'manual',
      l1: { maxEntries: 1, ttlSeconds: 60 },
    });
    const writer = await untilConnected(await withRedisCache(memory, o));
    const reader = await untilConnected(await withRedisCache(createMaterialProvider(store), o));
    const ksW = new Keystore({ provider: writer, allowedKeys: '*' });
    const ksR = new Keystore({ provider: reader, allowedKeys: '*' });
    const errorsNow = () => writer.stats().errors + reader.stats().errors;
    const step = async () => {
      for (const key of ['a', 'b']) {
        const plaintext = `p-${randomBytes(6).toString('hex')}`;
        const envelope = await ksW.encrypt(plaintext, { key, context });
        expect(Buffer.from(await ksR.decrypt(envelope, { context })).toString()).toBe(plaintext);
        // A rotation DELs in Redis: a demoted master refuses it (READONLY), the new one takes it.
        await ksW.rotate(key);
      }
    };
    await step();
    const before = await set.masterPort();
    const sentinel = new Redis(set.sentinels[0]?.port ?? 0, '127.0.0.1');
    await sentinel.call('SENTINEL', 'FAILOVER', MASTER_NAME);
    sentinel.disconnect();
    const asked = performance.now();
    let promotedMs: number | undefined;
    let cleanMs: number | undefined;
    let errorsAtPromotion = 0;
    while (cleanMs === undefined && performance.now() - asked < 20_000) {
      const errors = errorsNow();
      await step();
      if (promotedMs === undefined && (await set.masterPort().catch(() => before)) !== before) {
        promotedMs = performance.now() - asked;
        errorsAtPromotion = errorsNow();
      }
      // A step without a Redis error after the switch: the commands went to the new master.
      if (promotedMs !== undefined && errorsNow() === errors && performance.now() - asked > promotedMs + 50) {
        cleanMs = performance.now() - asked;
      }
      await sleep(10);
    }
    console.info(
      `[sentinel] SENTINEL FAILOVER: switched after ${promotedMs?.toFixed(0)} ms, commands without errors again after ${cleanMs?.toFixed(0)} ms ` +
        `(Redis errors: ${errorsAtPromotion} until the switch was seen, ${errorsNow() - errorsAtPromotion} after)`,
    );
    expect(cleanMs).toBeDefined();
    // What the last steps wrote is on the new master.
    const after = await set.masterPort();
    expect(after).not.toBe(before);
    const probe = new Redis(after, '127.0.0.1');
    expect((await probe.keys(`${o.prefix}manual:*`)).length).toBeGreaterThan(0);
    probe.disconnect();
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
