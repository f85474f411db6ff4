import { randomBytes } from 'node:crypto';
import { createAwsKmsProvider } from '@keystore/aws-kms';
import { createBlackboxProvider } from '@keystore/blackbox';
import { runConformanceSuite } from '@keystore/conformance';
import { Fernet, type KeyProvider } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { createVaultProvider } from '@keystore/vault';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type CachedProvider, type WithRedisCacheOptions, withRedisCache } from '../src/index.js';
import { buildMiniBlackboxRepo, type MiniBlackboxRepo } from './support/blackbox-repo.js';
import { freePort } from './support/private-redis.js';
import { deleteUnder } from './support/redis-keys.js';
import { untilConnected } from './support/until-connected.js';

/*
 * The conformance suite with the cache in front of the providers that talk
 * to a server: vault (Transit and KV), aws-kms and blackbox. Each suite needs
 * its own server and Redis; every run has a Redis prefix and key prefixes of
 * its own (the servers are shared).
 */
const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const run = randomBytes(6).toString('hex');
const prefix = `kstest:${run}:`;
const cacheKey = Fernet.generateKey();

const untilSubscribed = untilConnected;

/** Every wrapper a suite made, by label: the suite's last test checks the cache was in the path. */
const made = new Map<string, CachedProvider[]>();

/** Data-key reuse as the transit suite runs it: small limits, so the suite sees a key end. */
const REUSE = { maxAgeSeconds: 60, maxMessages: 5, maxBytes: 1 << 20 } as const;

const cached = async (provider: KeyProvider, label: string, extra: Partial<WithRedisCacheOptions> = {}) => {
  const wrapper = await untilSubscribed(
    await withRedisCache(provider, {
      url: { value: url },
      cacheKey: { value: cacheKey },
      prefix,
      namespace: `${label}-${randomBytes(4).toString('hex')}`,
      ttlSeconds: 120,
      l1: { maxEntries: 100, ttlSeconds: 5 },
      ...extra,
    }),
  );
  made.set(label, [...(made.get(label) ?? []), wrapper]);
  return wrapper;
};

/** Nothing listens there: the conformance suite's `unreachableCache` (a down cache, fail-open). */
const closedRedis = freePort().then((port) => `redis://127.0.0.1:${port}`);
const cacheDown = async (provider: KeyProvider) =>
  withRedisCache(provider, { url: { value: await closedRedis }, cacheKey: { value: cacheKey }, prefix });

/** A conformance run that never hit the cache would have tested the bare provider. */
function cacheWasUsed(label: string): void {
  it(`the cache answered some of ${label}'s lookups (L1 hits; Redis hits logged)`, () => {
    const stats = (made.get(label) ?? []).map((p) => p.stats());
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
    console.info(
      `${label}: ${stats.length} wrappers, hits l1 ${sum((s) => s.hits.l1)}, redis ${sum((s) => s.hits.redis)}, misses ${sum((s) => s.misses)}, errors ${sum((s) => s.errors)} (timeouts ${sum((s) => s.redis.timeouts)}, offline ${sum((s) => s.redis.offline)}), dropped ${sum((s) => s.dropped)}`,
    );
    expect(sum((s) => s.hits.l1)).toBeGreaterThan(0);
    expect(sum((s) => s.misses)).toBeGreaterThan(0);
    // Redis errors are not asserted: on a busy machine a command may time out (250 ms), and fail-open goes on.
    expect(sum((s) => s.dropped)).toBe(0);
  });
}

afterAll(async () => {
  if (redis.skip) return;
  const raw = new Redis(url);
  await deleteUnder(raw, prefix);
  raw.disconnect();
});

const vault = await requireService('vault');
const transit = {
  endpoint: vault.env.VAULT_ADDR ?? '',
  auth: { method: 'token', token: vault.env.VAULT_TOKEN ?? '' },
  mount: vault.env.VAULT_TRANSIT_MOUNT ?? 'transit',
} as const;

describe.skipIf(redis.skip || vault.skip)('the cache in front of vault (transit)', () => {
  // Transit keys cannot be deleted by the provider: a key prefix per run.
  const keyPrefix = `rconf-${run}-`;
  runConformanceSuite({
    name: 'redis-cache(vault transit)',
    describe,
    it,
    factory: async () => ({
      provider: await cached(await createVaultProvider(transit), 'transit', { dataKeyReuse: REUSE }),
      dataKeyReuse: { maxMessages: REUSE.maxMessages },
      unreachableCache: async () => cacheDown(await createVaultProvider(transit)),
      keyPrefix,
      // Redis up, Vault on a closed port (9, discard): the cache must not hide a down provider.
      unreachable: async () =>
        cached(await createVaultProvider({ ...transit, endpoint: 'http://127.0.0.1:9' }), 'transit-down'),
    }),
  });
  cacheWasUsed('transit');
});

describe.skipIf(redis.skip || vault.skip)('the cache in front of vault (kv)', () => {
  const pathPrefix = `keystore-test-rconf-${run}/`;
  const kv = {
    endpoint: vault.env.VAULT_ADDR ?? '',
    mode: 'kv',
    auth: { method: 'token', token: vault.env.VAULT_TOKEN ?? '' },
    mount: vault.env.VAULT_KV_MOUNT ?? 'secret',
    pathPrefix,
  } as const;
  runConformanceSuite({
    name: 'redis-cache(vault kv)',
    describe,
    it,
    factory: async () => ({
      provider: await cached(await createVaultProvider(kv), 'kv'),
      unreachableCache: async () => cacheDown(await createVaultProvider(kv)),
      unreachable: async () =>
        cached(await createVaultProvider({ ...kv, endpoint: 'http://127.0.0.1:9' }), 'kv-down'),
    }),
  });
  cacheWasUsed('kv');
});

describe.skipIf(redis.skip || vault.skip)('the cache, its Redis down, in front of vault (transit)', () => {
  // A down cache is not a down provider: with nothing listening on Redis's port, fail-open, the
  // whole suite passes against Vault (the availability test still sees an unreachable Vault).
  const keyPrefix = `rconf-${run}-down-`;
  const wrappers: CachedProvider[] = [];
  const closedPort = freePort();
  const downCache = async (provider: KeyProvider) => {
    const wrapper = await withRedisCache(provider, {
      url: { value: `redis://127.0.0.1:${await closedPort}` },
      cacheKey: { value: cacheKey },
      prefix,
      ttlSeconds: 120,
    });
    wrappers.push(wrapper);
    return wrapper;
  };
  runConformanceSuite({
    name: 'redis-cache, Redis down (vault transit)',
    describe,
    it,
    factory: async () => ({
      provider: await downCache(await createVaultProvider(transit)),
      keyPrefix,
      unreachable: async () =>
        downCache(await createVaultProvider({ ...transit, endpoint: 'http://127.0.0.1:9' })),
    }),
  });
  it('Redis was never reached: every lookup went to Vault, each Redis error refused at once', () => {
    const stats = wrappers.map((w) => w.stats());
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
    console.info(
      `transit, Redis down: ${stats.length} wrappers, misses ${sum((s) => s.misses)}, errors ${sum((s) => s.errors)}`,
    );
    expect(sum((s) => s.hits.redis)).toBe(0);
    expect(sum((s) => s.errors)).toBeGreaterThan(0);
    expect(sum((s) => s.redis.offline)).toBe(sum((s) => s.errors));
    expect(stats.every((s) => !s.connected)).toBe(true);
  });
});

const kms = await requireService('kms');
const kmsOptions = {
  region: kms.env.AWS_REGION ?? 'us-east-1',
  endpoint: kms.env.KMS_ENDPOINT ?? '',
  credentials: {
    accessKeyId: kms.env.AWS_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: kms.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  },
};

describe.skipIf(redis.skip || kms.skip)('the cache in front of aws-kms', () => {
  // KMS keys are only ever scheduled for deletion: an alias prefix per run, retired afterwards.
  const keyPrefix = `rconf-${run}-`;
  afterAll(async () => {
    const provider = await createAwsKmsProvider(kmsOptions);
    try {
      for (const { keyId } of await provider.listKeys()) {
        if (!keyId.startsWith(keyPrefix)) continue;
        await provider
          .scheduleKeyDeletion(keyId, { confirm: keyId, pendingWindowInDays: 7 })
          .catch(() => undefined);
      }
    } finally {
      await provider.close();
    }
  });
  runConformanceSuite({
    name: 'redis-cache(aws-kms)',
    describe,
    it,
    factory: async () => ({
      provider: await cached(await createAwsKmsProvider(kmsOptions), 'kms'),
      unreachableCache: async () => cacheDown(await createAwsKmsProvider(kmsOptions)),
      keyPrefix,
      unreachable: async () =>
        cached(await createAwsKmsProvider({ ...kmsOptions, endpoint: 'http://127.0.0.1:9' }), 'kms-down'),
    }),
  });
  cacheWasUsed('kms');
});

const gpg = await requireService('gpg');
const repo: MiniBlackboxRepo | undefined =
  gpg.skip || redis.skip ? undefined : buildMiniBlackboxRepo(gpg.env.GPG_BIN ?? 'gpg');

describe.skipIf(redis.skip || gpg.skip)('the cache in front of blackbox', () => {
  afterAll(() => repo?.remove());
  runConformanceSuite({
    name: 'redis-cache(blackbox)',
    describe,
    it,
    factory: async () => {
      if (repo === undefined) throw new Error('no repository');
      const open = () =>
        createBlackboxProvider({
          repo: (repo as MiniBlackboxRepo).root,
          identity: (repo as MiniBlackboxRepo).armoredSecretKey,
          passphrase: (repo as MiniBlackboxRepo).passphrase,
        });
      return {
        provider: await cached(await open(), 'blackbox'),
        unreachableCache: async () => cacheDown(await open()),
        keyPrefix: `rconf-${randomBytes(4).toString('hex')}-`,
      };
    },
  });
  cacheWasUsed('blackbox');
});
