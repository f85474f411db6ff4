import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fernet } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATION_TTL_FACTOR } from '../src/cache/generations.js';
import { ValueCodec } from '../src/codec/value-codec.js';
import { CacheCounters } from '../src/connection/stats.js';
import { createRedisConnection, EncryptedCache, type RedisConnection } from '../src/index.js';

const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const run = randomBytes(6).toString('hex');
const prefix = `kstest:${run}:`;
const cacheKey = Fernet.generateKey();
const raw = new Redis(url, { lazyConnect: true });
const connections: RedisConnection[] = [];

afterAll(async () => {
  for (const c of connections) await c.close();
  if (raw.status === 'wait') return;
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

/** One process's encrypted cache with its own ttlSeconds, under the shared namespace. */
async function processWith(ttlSeconds: number): Promise<EncryptedCache> {
  const counters = new CacheCounters();
  const connection = createRedisConnection({ url }, { counters });
  connections.push(connection);
  const started = performance.now();
  while (!connection.ready && performance.now() - started < 5_000) await sleep(5);
  return new EncryptedCache(
    connection,
    new ValueCodec({ cacheKey, maxTtlSeconds: ttlSeconds }),
    counters,
    `${prefix}ns:`,
  );
}

describe('generations across processes of different ttlSeconds (one namespace: ttlSeconds is not in it)', () => {
  it('an entry written before any invalidation stays unreadable after the invalidating process’s counter TTL', async () => {
    const long = await processWith(6); // a deployment with ttlSeconds 6
    const short = await processWith(1); // one with ttlSeconds 1: its counters live 2 s
    const [entry, counter] = ['d:{t}:x', 'g:{t}'];
    expect((await long.read(entry, counter)).generation).toBe(0);
    expect(
      await long.setIfGeneration(entry, counter, new Uint8Array([7]), 6, 0, GENERATION_TTL_FACTOR * 6),
    ).toBe(true);
    // The key is deleted in the other deployment: it knows nothing of this entry (not in its L1).
    await short.nextGeneration(counter, [], GENERATION_TTL_FACTOR * 1);
    expect(await long.read(entry, counter)).toEqual({ outdated: true, generation: 1 });
    await sleep(2_300);
    // Still within the entry's own 6 s: the counter must not have gone back to 0 and revived it.
    expect((await long.read(entry, counter)).value).toBeUndefined();
  });
});
