import { createKeystore, Fernet } from '@keystore/core';
import { describe, expect, it } from 'vitest';
import { clusterOptionsFor, redisOptionsFor } from '../src/connection/client-options.js';
import { MAX_RECONNECT_DELAY_MS, reconnectDelayMs } from '../src/connection/retry-strategy.js';
import { keystoreCache } from '../src/index.js';

const cacheKey = { value: Fernet.generateKey() };
const base = { type: 'redis', url: 'redis://127.0.0.1:1', cacheKey };
const parse = (extra: Record<string, unknown>) => keystoreCache.parseConfig({ ...base, ...extra });
const error = (extra: Record<string, unknown>) => {
  try {
    parse(extra);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('accepted');
};

describe('the redis cache block', () => {
  it("takes the issue's block, with defaults for what it leaves out", () => {
    const config = keystoreCache.parseConfig({
      type: 'redis',
      url: { env: 'REDIS_URL' },
      cacheKey: { env: 'KEYSTORE_CACHE_KEY' },
      prefix: 'keystore:',
      ttlSeconds: 300,
      l1: { maxEntries: 1000, ttlSeconds: 30 },
      dataKeyReuse: { maxAgeSeconds: 60, maxMessages: 1000, maxBytes: 104857600 },
      onRedisError: 'fail-open',
    });
    expect(config.l1).toEqual({ maxEntries: 1000, ttlSeconds: 30 });
    expect(parse({})).toMatchObject({ prefix: 'keystore:', ttlSeconds: 300, onRedisError: 'fail-open' });
    expect(parse({}).dataKeyReuse).toBeUndefined();
  });

  it("refuses a prefix with a brace (it would replace each key's Cluster hash tag) or a space", () => {
    for (const prefix of ['app{1}:', 'a}b', 'two words', '']) {
      expect(error({ prefix }).message).toMatch(
        /cache\.prefix: must be 1 to 128 printable characters without spaces or braces/,
      );
    }
    expect(parse({ prefix: 'app|1~x:' }).prefix).toBe('app|1~x:');
  });

  it('accepts Sentinel and Cluster in ioredis terms, one target at a time', () => {
    const nodes = [{ host: '10.0.0.1', port: 26379 }];
    expect(
      keystoreCache.parseConfig({
        type: 'redis',
        cacheKey,
        sentinels: { name: 'mymaster', nodes, password: { env: 'S' }, tls: true },
        password: { env: 'P' },
        db: 2,
      }).sentinels?.name,
    ).toBe('mymaster');
    expect(
      keystoreCache.parseConfig({ type: 'redis', cacheKey, cluster: { nodes, scaleReads: 'master' } }).cluster
        ?.nodes,
    ).toEqual(nodes);
    // Replica reads could serve an entry an invalidation deleted on the master.
    for (const scaleReads of ['slave', 'all']) {
      expect(error({ url: undefined, cluster: { nodes, scaleReads } }).message).toMatch(
        /cache\.cluster\.scaleReads: must be 'master'/,
      );
    }
    expect(error({ cluster: { nodes } }).message).toMatch(/cache\.cluster: only one of url, sentinels/);
    expect(() => keystoreCache.parseConfig({ type: 'redis', cacheKey })).toThrow(
      /cache\.url: expected url, sentinels or cluster/,
    );
    expect(() => keystoreCache.parseConfig({ type: 'redis', cacheKey, cluster: { nodes }, db: 1 })).toThrow(
      /cache\.db: a Redis Cluster has database 0 only/,
    );
    expect(error({ url: undefined, sentinels: { name: 'm', nodes: [] } }).message).toMatch(
      /cache\.sentinels\.nodes/,
    );
    expect(error({ url: undefined, cluster: { nodes, natMap: {} } }).message).toMatch(
      /unknown field 'natMap'/,
    );
  });

  it('names each bad field, never echoing a value', () => {
    const bad = error({ url: 'redis://:hunter2@10.0.0.1:6379' });
    expect(bad.code).toBe('ConfigError');
    expect(bad.message).toMatch(/cache\.url: .*secret reference/);
    expect(bad.message).not.toContain('hunter2');
    expect(error({ url: 'http://x' }).message).toMatch(/cache\.url/);
    expect(error({ cacheKey: 'plain' }).message).toMatch(/cache\.cacheKey/);
    expect(error({ onRedisError: 'retry' }).message).toMatch(/cache\.onRedisError/);
    expect(error({ l1: { maxEntries: 10, ttlSeconds: 600 } }).message).toMatch(
      /cache\.l1\.ttlSeconds: must not exceed ttlSeconds/,
    );
    expect(error({ dataKeyReuse: { maxAgeSeconds: 60 } }).message).toMatch(
      /cache\.dataKeyReuse\.maxMessages/,
    );
    expect(error({ ttl: 5 }).message).toMatch(/unknown field 'ttl'/);
    expect(error({ db: 16 }).message).toMatch(/cache\.db/);
    expect(error({ tls: { caFile: 'ca.pem', insecure: true } }).message).toMatch(/cache\.tls/);
  });
});

describe('the ioredis options', () => {
  it('fail fast: no offline queue, no retries or resends, lazy, timeouts bounded', () => {
    const options = redisOptionsFor({ url: 'redis://x', commandTimeoutMs: 100, connectTimeoutMs: 900 });
    expect(options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 100,
      connectTimeout: 900,
    });
    const cluster = clusterOptionsFor({ cluster: { nodes: [{ host: 'h', port: 1 }] } });
    expect(cluster).toMatchObject({ lazyConnect: true, enableOfflineQueue: false });
    // Redirections bounded, no waits before a retry, reads from masters only.
    expect(cluster).toMatchObject({
      maxRedirections: 4,
      retryDelayOnMoved: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnFailover: 0,
      retryDelayOnTryAgain: 0,
      scaleReads: 'master',
    });
    expect(cluster.redisOptions).toMatchObject({
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    const sentinel = redisOptionsFor({
      sentinels: { name: 'm', nodes: [{ host: 'h', port: 26379 }], password: 's', tls: true },
      tls: {},
    });
    expect(sentinel).toMatchObject({
      name: 'm',
      sentinels: [{ host: 'h', port: 26379 }],
      sentinelPassword: 's',
      enableTLSForSentinelMode: true,
      failoverDetector: true,
    });
  });

  it('reconnects forever, with a backoff that doubles and stays capped', () => {
    expect(reconnectDelayMs(1)).toBeLessThan(100);
    const later = [5, 10, 100, 10_000].map(reconnectDelayMs);
    for (const delay of later) expect(delay).toBeLessThanOrEqual(MAX_RECONNECT_DELAY_MS * 1.2 + 1);
    expect(reconnectDelayMs(10)).toBeGreaterThanOrEqual(MAX_RECONNECT_DELAY_MS);
  });
});

describe('createKeystore with a redis cache', () => {
  it('builds without waiting for a Redis that is not there, and works as the provider', async () => {
    const started = performance.now();
    const keystore = await createKeystore(
      {
        provider: { type: 'memory', keys: ['patients'] },
        defaultKey: 'patients',
        cache: { type: 'redis', url: 'redis://127.0.0.1:1', cacheKey },
      },
      { caches: { redis: keystoreCache } },
    );
    expect(performance.now() - started).toBeLessThan(500);
    const envelope = await keystore.encrypt('AB+', { context: { id: '1' } });
    expect(Buffer.from(await keystore.decrypt(envelope, { context: { id: '1' } })).toString()).toBe('AB+');
    await keystore.close();
  });

  it('refuses a cacheKey that is not a Fernet key, without echoing it, and closes the provider', async () => {
    const attempt = createKeystore(
      {
        provider: { type: 'memory' },
        cache: { type: 'redis', url: 'redis://127.0.0.1:1', cacheKey: { value: 'not-a-fernet-key-secret' } },
      },
      { caches: { redis: keystoreCache } },
    );
    await expect(attempt).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/^cache\.cacheKey/),
    });
    await expect(attempt).rejects.not.toMatchObject({ message: expect.stringContaining('not-a-fernet') });
  });
});
