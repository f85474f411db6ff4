import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runConformanceSuite } from '@keystore/conformance';
import {
  createFileProvider,
  createMemoryProvider,
  Fernet,
  isKeystoreError,
  type KeyProvider,
  Keystore,
} from '@keystore/core';
import { materialStoreOf } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type WithRedisCacheOptions, withRedisCache } from '../src/index.js';
import { opaque } from './support/cached.js';
import { freePort } from './support/private-redis.js';
import { Secrets } from './support/recording.js';
import { keysUnder } from './support/redis-keys.js';
import { SecretScan } from './support/secret-scan.js';
import { untilConnected } from './support/until-connected.js';

const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const run = randomBytes(6).toString('hex');
const prefix = `kstest:${run}:`;
const cacheKey = Fernet.generateKey();
const context = { table: 'patients', id: '4711' };
const SENTINEL = `cache-sentinel-${randomBytes(12).toString('hex')}`;
const secrets = new Secrets();
const dir = mkdtempSync(join(tmpdir(), 'kstest-rcache-'));
/** A bare client of the test's own, to look at what the cache left in Redis. */
const raw = new Redis(url, { lazyConnect: true });

const options = (extra: Partial<WithRedisCacheOptions> = {}): WithRedisCacheOptions => ({
  url: { value: url },
  cacheKey: { value: cacheKey },
  prefix,
  ttlSeconds: 120,
  l1: { maxEntries: 100, ttlSeconds: 5 },
  ...extra,
});

afterAll(async () => {
  if (raw.status !== 'wait') {
    const keys = await scanKeys();
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
});

const scanKeys = () => keysUnder(raw, prefix);

const untilSubscribed = untilConnected;

/**
 * The provider with its store's material recorded, behind the cache, with
 * what it hands out recorded; `opaque` hides the store, so unwrapped data
 * keys are what is cached.
 */
async function cachedRecorded(inner: KeyProvider, namespace: string, asOpaque = false): Promise<KeyProvider> {
  const store = materialStoreOf(inner);
  if (store !== undefined) secrets.recordStore(store);
  const behind = asOpaque ? opaque(inner).provider : inner;
  return secrets.recordProvider(await untilSubscribed(await withRedisCache(behind, options({ namespace }))));
}

const ns = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** Nothing listens there: the suite's `unreachableCache`, over the same provider (which it must not close). */
const closedRedis = freePort().then((port) => `redis://127.0.0.1:${port}`);
async function cacheDown(inner: KeyProvider, asOpaque = false): Promise<KeyProvider> {
  const shared = { ...inner, close: async () => {} };
  const behind = asOpaque ? opaque(shared).provider : shared;
  return withRedisCache(behind, options({ url: { value: await closedRedis }, namespace: ns('down') }));
}

describe.skipIf(redis.skip)('conformance with the cache in front', () => {
  describe('memory', () => {
    runConformanceSuite({
      name: 'redis-cache(memory)',
      describe,
      it,
      factory: async () => {
        const inner = await createMemoryProvider();
        return {
          provider: await cachedRecorded(inner, ns('memory')),
          unreachableCache: () => cacheDown(inner),
        };
      },
    });
  });

  describe('memory, with data-key reuse (at most 5 messages a key)', () => {
    const reuse = { maxAgeSeconds: 60, maxMessages: 5, maxBytes: 1 << 20 };
    runConformanceSuite({
      name: 'redis-cache(memory, data-key reuse)',
      describe,
      it,
      factory: async () => {
        const inner = await createMemoryProvider();
        const provider = await untilSubscribed(
          await withRedisCache(inner, options({ namespace: ns('reuse'), dataKeyReuse: reuse })),
        );
        return { provider, dataKeyReuse: { maxMessages: reuse.maxMessages } };
      },
    });
  });

  describe('memory, seen as a provider without a store (unwrapped data keys cached)', () => {
    runConformanceSuite({
      name: 'redis-cache(opaque memory)',
      describe,
      it,
      factory: async () => {
        const inner = await createMemoryProvider();
        return {
          provider: await cachedRecorded(inner, ns('opaque'), true),
          unreachableCache: () => cacheDown(inner, true),
        };
      },
    });
  });

  describe('file', () => {
    runConformanceSuite({
      name: 'redis-cache(file)',
      describe,
      it,
      factory: async () => {
        const path = join(dir, `${ns('conformance')}.keystore.json`);
        // A raw key, not a password: scrypt per fixture would spend the shared cores on nothing.
        const masterKey = randomBytes(32);
        const file = await createFileProvider({ path, masterKey, create: true });
        return {
          provider: await cachedRecorded(file, ns('file')),
          unreachableCache: async () => cacheDown(await createFileProvider({ path, masterKey })),
        };
      },
    });
  });
});

describe.skipIf(redis.skip)('what the conformance runs left in Redis', () => {
  it('a sentinel through the cache, then: no value holds any data key, material or sentinel in the clear', async () => {
    for (const asOpaque of [false, true]) {
      const inner = await createMemoryProvider({ keys: ['sentinel'] });
      const provider = await cachedRecorded(inner, ns('sentinel'), asOpaque);
      const keystore = new Keystore({ provider, allowedKeys: '*' });
      const envelope = await keystore.encrypt(SENTINEL, { key: 'sentinel', context });
      await keystore.decrypt(envelope, { context });
      await keystore.close();
    }

    const keys = await scanKeys();
    const values = await Promise.all(
      keys.map(async (k) => ({ k, v: await raw.get(k), ttl: await raw.ttl(k) })),
    );
    expect(keys.length).toBeGreaterThan(20);
    expect(secrets.all.length).toBeGreaterThan(100);
    const kinds = new Set<string>();
    const scan = new SecretScan([
      ...secrets.all,
      Buffer.from(SENTINEL),
      Buffer.from('conformance-sentinel-'),
    ]);
    // The scan can fail: a secret written into a value in any encoding is found.
    const planted = secrets.all[secrets.all.length - 1] as Buffer;
    for (const encoding of ['hex', 'base64', 'base64url', 'latin1'] as const) {
      expect(scan.hits(`gAAAAA${planted.toString(encoding)}xyz`)).toBeGreaterThan(0);
    }
    expect(scan.hits(`x${SENTINEL}`)).toBe(1);
    const name = new RegExp(
      `^${prefix}[a-z]+-[0-9a-f]{8}:(m:\\{[0-9a-f]{64}\\}|d:\\{[0-9a-f]{64}\\}:[0-9a-f]{64}|g:\\{[0-9a-f]{64}\\})$`,
    );
    for (const { k, v, ttl } of values) {
      expect(k).toMatch(name);
      const kind = k.slice(`${prefix}`.length).split(':')[1] as string;
      kinds.add(kind);
      expect(ttl).toBeGreaterThan(0);
      if (kind === 'g') {
        // A key's generation counter: a number, living twice the entries' TTL.
        expect(v).toMatch(/^[0-9]+$/);
        expect(ttl).toBeLessThanOrEqual(240);
        continue;
      }
      expect(ttl).toBeLessThanOrEqual(120);
      const text = v ?? '';
      expect(text).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
      expect(scan.hits(text)).toBe(0);
      expect(scan.hits(Buffer.from(text, 'base64url').toString('latin1'))).toBe(0);
    }
    expect(kinds).toEqual(new Set(['m', 'd', 'g']));
    console.info(`no-plaintext scan: ${keys.length} values, ${scan.size} distinct secrets, none found`);
  });
});

describe.skipIf(redis.skip)('two processes over one keystore file', () => {
  for (const reuse of [false, true]) {
    it(`a loop of answers without I/O (${reuse ? 'reused data keys' : 'L1 hits'}) still hears a rotation within a few turns`, async () => {
      const path = join(dir, `${ns('busy')}.keystore.json`);
      const masterKey = randomBytes(32);
      const first = await createFileProvider({ path, masterKey, create: true });
      await first.createKey?.('patients');
      const namespace = ns('busy');
      const l1 = { maxEntries: 100, ttlSeconds: 60 };
      const dataKeyReuse = { maxAgeSeconds: 600, maxMessages: 1_000_000, maxBytes: 1 << 30 };
      const a = await withRedisCache(first, options({ namespace, l1 }));
      const b = await withRedisCache(
        await createFileProvider({ path, masterKey }),
        options({ namespace, l1, ...(reuse ? { dataKeyReuse } : {}) }),
      );
      await Promise.all([untilSubscribed(a), untilSubscribed(b)]);
      const ksA = new Keystore({ provider: a, allowedKeys: '*' });
      const ksB = new Keystore({ provider: b, allowedKeys: '*' });
      expect(ksB.inspect(await ksB.encrypt('v1', { key: 'patients', context })).version).toBe(1);
      await ksA.rotate('patients');
      // Awaiting encrypts that need no I/O, without ever yielding: the event loop would not turn, the
      // message would not be read, and B would encrypt under version 1 until its L1 entry is 60 s old.
      const rotated = performance.now();
      let version = 1;
      let calls = 0;
      while (version !== 2 && performance.now() - rotated < 3_000) {
        version = ksB.inspect(await ksB.encrypt('x', { key: 'patients', context })).version;
        calls++;
      }
      const ms = performance.now() - rotated;
      console.info(
        `busy loop (${reuse ? 'reuse' : 'L1'}): version 2 after ${ms.toFixed(0)} ms, ${calls} encrypts`,
      );
      expect(version).toBe(2);
      expect(ms).toBeLessThan(1_000);
      expect(calls).toBeGreaterThan(10);
      await Promise.all([ksA.close(), ksB.close()]);
    });
  }

  it('rotate in one: the other uses the new version once the message arrives (well within the L1 ttl)', async () => {
    const path = join(dir, `${ns('shared')}.keystore.json`);
    const masterKey = randomBytes(32);
    const first = await createFileProvider({ path, masterKey, create: true });
    await first.createKey?.('patients');
    const second = await createFileProvider({ path, masterKey });
    const namespace = ns('file');
    // Two wrappers, two connections each, as two processes would have.
    const a = await withRedisCache(first, options({ namespace, l1: { maxEntries: 100, ttlSeconds: 60 } }));
    const b = await withRedisCache(second, options({ namespace, l1: { maxEntries: 100, ttlSeconds: 60 } }));
    await Promise.all([untilSubscribed(a), untilSubscribed(b)]);
    const ksA = new Keystore({ provider: a, allowedKeys: '*' });
    const ksB = new Keystore({ provider: b, allowedKeys: '*' });
    const old = await ksB.encrypt('v1', { key: 'patients', context });
    expect(ksB.inspect(old).version).toBe(1); // B's L1 now holds version 1 for 60 s

    const rotated = performance.now();
    await ksA.rotate('patients');
    let version = 1;
    while (version !== 2 && performance.now() - rotated < 2_000) {
      version = ksB.inspect(await ksB.encrypt('x', { key: 'patients', context })).version;
      if (version !== 2) await sleep(1);
    }
    const ms = performance.now() - rotated;
    expect(version).toBe(2);
    expect(ms).toBeLessThan(1_000);
    expect(b.stats().invalidations).toBe(1);
    console.info(`rotation seen by the other wrapper after ${ms.toFixed(1)} ms`);
    // And a version-2 envelope of A's decrypts in B; the old one still does.
    const fresh = await ksA.encrypt('v2', { key: 'patients', context });
    expect(Buffer.from(await ksB.decrypt(fresh, { context })).toString()).toBe('v2');
    expect(Buffer.from(await ksB.decrypt(old, { context })).toString()).toBe('v1');
    await Promise.all([ksA.close(), ksB.close()]);
  });
});

describe.skipIf(redis.skip)('Redis failing', () => {
  it('down (a closed port), fail-open: encrypt, decrypt and rotate succeed from the provider, errors counted', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const cached = await withRedisCache(
      await createMemoryProvider({ keys: ['k'] }),
      options({ url: { value: closed } }),
    );
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    const started = performance.now();
    const envelope = await keystore.encrypt('AB+', { key: 'k', context });
    await keystore.rotate('k');
    const again = await keystore.encrypt('AB+', { key: 'k', context });
    expect(keystore.inspect(again).version).toBe(2);
    for (const e of [envelope, again]) {
      expect(Buffer.from(await keystore.decrypt(e, { context })).toString()).toBe('AB+');
    }
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(500);
    expect(cached.stats().errors).toBeGreaterThanOrEqual(3);
    expect(cached.stats().redis.offline).toBe(cached.stats().errors);
    console.info(
      `fail-open with Redis down: 6 calls in ${ms.toFixed(1)} ms, ${cached.stats().errors} Redis errors`,
    );
    await keystore.close();
  });

  it('down, fail-closed: a call that needs Redis fails with ProviderUnavailable', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const cached = await withRedisCache(
      await createMemoryProvider({ keys: ['k'] }),
      options({ url: { value: closed }, onRedisError: 'fail-closed' }),
    );
    const keystore = new Keystore({ provider: cached, allowedKeys: '*' });
    const error = await keystore.encrypt('AB+', { key: 'k', context }).catch((e: unknown) => e);
    expect(isKeystoreError(error, 'ProviderUnavailable')).toBe(true);
    expect((error as Error).message).not.toContain(cacheKey);
    await keystore.close();
  });

  it('a tampered value in Redis is dropped, counted, deleted, and the provider answers', async () => {
    const namespace = ns('tamper');
    const memory = await createMemoryProvider({ keys: ['k'] });
    const writer = await untilSubscribed(await withRedisCache(memory, options({ namespace })));
    const ksWriter = new Keystore({ provider: writer, allowedKeys: '*' });
    const envelope = await ksWriter.encrypt('AB+', { key: 'k', context });
    const [name] = (await scanKeys()).filter((k) => k.startsWith(`${prefix}${namespace}:m:`));
    const token = (await raw.get(name as string)) ?? '';
    const i = 40;
    const tampered = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
    await raw.set(name as string, tampered, 'EX', 60);

    // A second wrapper over the same store: an empty L1, so it reads Redis.
    const store = materialStoreOf(memory);
    if (store === undefined) throw new Error('no store');
    const { createMaterialProvider } = await import('@keystore/core/provider');
    const reader = await untilSubscribed(
      await withRedisCache(createMaterialProvider(store), options({ namespace })),
    );
    const ksReader = new Keystore({ provider: reader, allowedKeys: '*' });
    expect(Buffer.from(await ksReader.decrypt(envelope, { context })).toString()).toBe('AB+');
    expect(reader.stats().dropped).toBe(1);
    expect(reader.stats().hits.redis).toBe(0);
    // Deleted, then written afresh from the store: a valid value again.
    const now = await raw.get(name as string);
    expect(now).not.toBe(tampered);
    expect(now).toMatch(/^gAAAAA/);
    await ksReader.close();
    await ksWriter.close();
  });
});
