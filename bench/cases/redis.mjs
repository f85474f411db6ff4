// The Redis cache (@keystore/redis) against test-infra's Redis (or the one in REDIS_URL):
// - key fetch latency, p50 and p99 per fetch: an L1 hit, and a Redis hit (L1 of one entry,
//   fetches cycling over 8 entries, so each misses the L1), against the floor measured in the
//   same run: a bare ioredis GET of the very value the cache wrote plus a Fernet decrypt of it,
//   and the bare GET alone;
// - 1 KiB envelope decrypts per second, uncached, Redis-cached and L1-cached, in front of
//   vault (transit), aws-kms and blackbox where their servers are up.

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { infraEnv } from '../lib/infra-env.mjs';
import { check, payloadBytes, sameBytes } from '../lib/payload.mjs';
import { asyncRunner } from '../lib/timing.mjs';

const CONTEXT = { table: 'patients', id: '4711' };
/** Envelopes (or keys) a decrypt cycles over: more than an L1 of one entry holds. */
const CYCLE = 8;

/** REDIS_URL from the environment or test-infra/.env.test (`pnpm infra:up redis`); the reason to skip without one. */
export function redisServer(root) {
  const env = infraEnv(root, 'REDIS_URL');
  if (!env.REDIS_URL) {
    return {
      skip: 'REDIS_URL is not set and test-infra/.env.test names no server (`pnpm infra:up redis` starts one)',
    };
  }
  return { url: env.REDIS_URL };
}

/** @keystore/redis (its dist) and the ioredis it runs on (the bench's floor uses the very same copy). */
export async function redisLibraries(root) {
  const require = createRequire(join(root, 'packages/redis/package.json'));
  const redis = await import(pathToFileURL(join(root, 'packages/redis/dist/index.js')).href);
  const provider = await import(pathToFileURL(join(root, 'packages/core/dist/provider.js')).href);
  const ioredisPath = require.resolve('ioredis');
  const ioredis = await import(pathToFileURL(ioredisPath).href);
  const version = require('ioredis/package.json').version;
  return {
    redis,
    normalizeContext: provider.normalizeContext,
    Redis: ioredis.Redis ?? ioredis.default,
    ioredisVersion: version,
  };
}

/** The cache options of one wrapper: its own prefix per run, the URL by reference (it may hold a password). */
function cacheOptions(server, run, cacheKey, extra = {}) {
  return {
    url: { env: 'REDIS_URL' },
    cacheKey: { env: 'KEYSTORE_CACHE_KEY' },
    env: { REDIS_URL: server.url, KEYSTORE_CACHE_KEY: cacheKey },
    prefix: `kbench:${run}:`,
    ttlSeconds: 600,
    ...extra,
  };
}

/** The cache never waits for Redis: before timing, wait until it is connected and subscribed. */
async function ready(provider, ms = 5_000) {
  const started = performance.now();
  while (!provider.stats().connected || !provider.stats().subscribed) {
    if (performance.now() - started > ms) throw new Error(`the cache did not connect within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return provider;
}

// A clean heap before each contender's share of a round, as bench/lib/timing.mjs does for rates.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/**
 * Per-operation latency: warm-up, then `rounds` rounds of `perRound` awaited operations per
 * contender, interleaved (the starting contender rotating), each operation timed on its own.
 */
async function latencies(contenders, { rounds, perRound, warmup, log }) {
  const samples = contenders.map(() => []);
  for (const c of contenders) for (let i = 0; i < warmup; i++) await c.op(i);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const j = (round + k) % contenders.length;
      const { op } = contenders[j];
      const out = samples[j];
      gc();
      for (let i = 0; i < perRound; i++) {
        const t0 = process.hrtime.bigint();
        await op(i);
        out.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }
    log(`  round ${round + 1}/${rounds} done`);
  }
  return contenders.map((c, j) => {
    const s = samples[j].sort((a, b) => a - b);
    return {
      id: c.id,
      name: c.name,
      n: s.length,
      p50: percentile(s, 50),
      p99: percentile(s, 99),
      p999: percentile(s, 99.9),
    };
  });
}

/** A provider without a material store, answering unwraps with one fixed data key: counts its calls. */
function stubProvider() {
  const dataKey = randomBytes(32);
  const stub = {
    type: 'bench-stub',
    calls: 0,
    dataKey,
    async unwrapKey() {
      stub.calls++;
      return new Uint8Array(dataKey);
    },
    async close() {},
  };
  return stub;
}

/**
 * The key fetch case: the wrapper's `unwrapKey` (what a decrypt asks the cache for, without the
 * keystore's guard or envelope) against the bare floor on the same Redis.
 */
export async function keyFetchCase({
  core,
  redis,
  normalizeContext,
  Redis,
  ioredisVersion,
  server,
  rounds,
  perRound,
  log,
}) {
  const run = randomBytes(4).toString('hex');
  const cacheKey = core.Fernet.generateKey();
  const stub = stubProvider();
  const inputs = Array.from({ length: CYCLE }, (_, i) => ({
    keyId: 'patients',
    version: 1,
    ciphertext: randomBytes(64),
    // As a decrypt hands it down: the keystore normalizes a context once (its canonical bytes with it).
    context: normalizeContext({ ...CONTEXT, id: String(4711 + i) }),
  }));
  const l1 = await ready(
    await redis.withRedisCache(stub, cacheOptions(server, run, cacheKey, { namespace: 'l1' })),
  );
  const l2 = await ready(
    await redis.withRedisCache(
      stub,
      cacheOptions(server, run, cacheKey, { namespace: 'l2', l1: { maxEntries: 1, ttlSeconds: 600 } }),
    ),
  );
  const raw = new Redis(server.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  await raw.connect();
  const fernet = new core.Fernet(cacheKey);
  try {
    for (const input of inputs) {
      await l1.unwrapKey(input);
      await l2.unwrapKey(input);
    }
    // The values the L1-less wrapper reads: the floor GETs the very same keys.
    // Data-key entries only (d:), not the generation counter a SET creates beside them (g:).
    const names = (await raw.keys(`kbench:${run}:l2:d:*`)).sort();
    if (names.length !== CYCLE) throw new Error(`expected ${CYCLE} entries in Redis, found ${names.length}`);
    const valueChars = (await raw.get(names[0])).length;
    const callsBefore = stub.calls;
    const redisHitsBefore = l2.stats().hits.redis;
    const l1HitsBefore = l1.stats().hits.l1;
    const same = (bytes) => Buffer.from(bytes).equals(stub.dataKey);
    check(same(await l1.unwrapKey(inputs[0])), 'L1 hit gives the data key');
    check(same(await l2.unwrapKey(inputs[1])), 'Redis hit gives the data key');
    check(fernet.decrypt(await raw.get(names[0])).length > 32, 'the bare value opens under cacheKey');
    const contenders = [
      { id: 'l1', name: '@keystore/redis unwrapKey, L1 hit', op: () => l1.unwrapKey(inputs[0]) },
      {
        id: 'redis',
        name: '@keystore/redis unwrapKey, Redis hit (L1 of 1 entry, 8 entries cycled)',
        op: (i) => l2.unwrapKey(inputs[i % CYCLE]),
      },
      {
        id: 'floor',
        name: `floor: bare ioredis ${ioredisVersion} GET of the same value + Fernet decrypt`,
        op: async (i) => fernet.decrypt(await raw.get(names[i % CYCLE])),
      },
      {
        id: 'get',
        name: `bare ioredis ${ioredisVersion} GET of the same value`,
        op: (i) => raw.get(names[i % CYCLE]),
      },
    ];
    const rows = await latencies(contenders, { rounds, perRound, warmup: 2000, log });
    const l1Hits = l1.stats().hits.l1 - l1HitsBefore;
    const redisHits = l2.stats().hits.redis - redisHitsBefore;
    const providerCalls = stub.calls - callsBefore;
    if (providerCalls !== 0) throw new Error(`the provider was called ${providerCalls} times while timed`);
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    return {
      valueChars,
      rows,
      checks: { l1Hits, redisHits, providerCalls },
      targets: {
        l1P99Us: { value: by.l1.p99, target: 20, met: by.l1.p99 < 20 },
        redisVsFloorP99: {
          value: by.redis.p99 / by.floor.p99,
          target: 2,
          met: by.redis.p99 <= 2 * by.floor.p99,
        },
        redisVsFloorP50: by.redis.p50 / by.floor.p50,
      },
    };
  } finally {
    raw.disconnect();
    await l1.close();
    await l2.close();
  }
}

/**
 * Decrypt contenders for one provider: the same envelopes (CYCLE of them, made uncached, each its
 * own data key) decrypted in turn by a Keystore over the provider itself, over the cache with an
 * L1 of one entry (every decrypt a Redis hit) and over the cache with the default L1.
 * `keysOf(i)` names the key of envelope i (a material store caches per key, so its Redis case
 * needs envelopes of two keys).
 */
export async function decryptContenders({ core, redis, server, label, provider, keyIds }) {
  const { Keystore } = core;
  const run = randomBytes(4).toString('hex');
  const cacheKey = core.Fernet.generateKey();
  const bytes = payloadBytes(1024);
  const plain = new Keystore({ provider, allowedKeys: '*' });
  const envelopes = [];
  for (let i = 0; i < CYCLE; i++) {
    const key = keyIds[i % keyIds.length];
    envelopes.push(await plain.encrypt(bytes, { key, context: CONTEXT }));
  }
  // Closing a wrapper closes what it wraps: the wrappers get the provider with a close that
  // does nothing, and the caller closes the provider itself.
  const shared = new Proxy(provider, {
    get(target, property) {
      if (property === 'close') return async () => {};
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const wrap = async (namespace, extra) =>
    ready(await redis.withRedisCache(shared, cacheOptions(server, run, cacheKey, { namespace, ...extra })));
  const l2 = await wrap(`${label}-l2`, { l1: { maxEntries: 1, ttlSeconds: 600 } });
  const l1 = await wrap(`${label}-l1`, {});
  const ksL2 = new Keystore({ provider: l2, allowedKeys: '*' });
  const ksL1 = new Keystore({ provider: l1, allowedKeys: '*' });
  const contender = (id, name, keystore, cached) => ({
    id,
    name,
    async verify() {
      for (const e of envelopes)
        check(sameBytes(await keystore.decrypt(e, { context: CONTEXT }), bytes), 'decrypts');
      const before = cached?.stats();
      for (const e of envelopes) await keystore.decrypt(e, { context: CONTEXT });
      const after = cached?.stats();
      return [
        'decrypts every envelope',
        ...(cached === undefined
          ? []
          : [
              check(after.misses === before.misses, 'no provider call once warm') &&
                `second pass: ${after.hits.l1 - before.hits.l1} L1 hits, ${after.hits.redis - before.hits.redis} Redis hits of ${CYCLE}`,
            ]),
      ];
    },
    runner() {
      let i = 0;
      return asyncRunner(async () => {
        const out = await keystore.decrypt(envelopes[i++ % CYCLE], { context: CONTEXT });
        if (out.length !== 1024) throw new Error('wrong length');
      });
    },
  });
  return {
    contenders: [
      contender('ours', `${label} behind @keystore/redis, L1-cached (default L1)`, ksL1, l1),
      contender(
        'redis',
        `${label} behind @keystore/redis, Redis-cached (L1 of 1 entry: every decrypt a Redis GET)`,
        ksL2,
        l2,
      ),
      contender('uncached', `${label} uncached (the provider itself)`, plain, undefined),
    ],
    async close() {
      await l1.close().catch(() => {});
      await l2.close().catch(() => {});
    },
  };
}

/** The limits, given alike to ours and to the Encryption SDK's caching materials manager. */
export const REUSE_LIMITS = { maxAgeSeconds: 60, maxMessages: 1000, maxBytes: 104857600 };

/**
 * Envelope round trips (encrypt, then decrypt, 1 KiB) with data-key reuse, on one KMS key:
 * ours is a Keystore over @keystore/aws-kms behind the cache with `dataKeyReuse` (decrypts
 * served by its L1); against it the AWS Encryption SDK's NodeCachingMaterialsManager over its
 * KmsKeyringNode with the same limits (maxAge, maxMessagesEncrypted, maxBytesEncrypted; a local
 * cache of 1000 entries, which caches decryption materials too), default and unsigned suites.
 */
export async function reuseContenders({
  core,
  redis,
  server,
  provider,
  arn,
  esdk,
  clientKms,
  kmsConfig,
  versions,
}) {
  const run = randomBytes(4).toString('hex');
  let generated = 0;
  const shared = new Proxy(provider, {
    get(target, property) {
      if (property === 'close') return async () => {};
      if (property === 'generateDataKey')
        return (input) => {
          generated++;
          return target.generateDataKey(input);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const cached = await ready(
    await redis.withRedisCache(
      shared,
      cacheOptions(server, run, core.Fernet.generateKey(), {
        namespace: 'reuse',
        dataKeyReuse: REUSE_LIMITS,
      }),
    ),
  );
  const keystore = new core.Keystore({ provider: cached, defaultKey: 'patients' });
  const {
    KmsKeyringNode,
    NodeCachingMaterialsManager,
    getLocalCryptographicMaterialsCache,
    buildClient,
    getClient,
    cacheClients,
    CommitmentPolicy,
    AlgorithmSuiteIdentifier,
  } = esdk;
  const keyring = new KmsKeyringNode({
    generatorKeyId: arn,
    clientProvider: cacheClients(getClient(clientKms.KMS, kmsConfig)),
  });
  const cmm = new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(1000),
    maxAge: REUSE_LIMITS.maxAgeSeconds * 1000,
    maxMessagesEncrypted: REUSE_LIMITS.maxMessages,
    maxBytesEncrypted: REUSE_LIMITS.maxBytes,
  });
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  const esdkContender = (id, suiteId, suiteName) => {
    const roundTrip = async (bytes) => {
      const { result } = await encrypt(cmm, bytes, {
        encryptionContext: CONTEXT,
        plaintextLength: bytes.length,
        ...(suiteId === undefined ? {} : { suiteId }),
      });
      const { plaintext, messageHeader } = await decrypt(cmm, result);
      if (!Object.entries(CONTEXT).every(([k, v]) => messageHeader.encryptionContext[k] === v))
        throw new Error('context does not match');
      return plaintext;
    };
    return {
      id,
      name: `@aws-crypto/client-node ${versions.esdk} NodeCachingMaterialsManager over KmsKeyringNode, ${suiteName}, same limits, + the caller's context check`,
      async verify(size) {
        const bytes = payloadBytes(size);
        return [check(sameBytes(await roundTrip(bytes), bytes), 'round trip')];
      },
      runner(size) {
        const bytes = payloadBytes(size);
        return asyncRunner(async () => {
          if ((await roundTrip(bytes)).length !== size) throw new Error('wrong length');
        });
      },
    };
  };
  const bytes1k = payloadBytes(1024);
  const ours = {
    id: 'ours',
    name: `@keystore/aws-kms ${versions.keystoreAwsKms} Keystore behind @keystore/redis with dataKeyReuse (same limits), with a context`,
    async verify(size) {
      const bytes = payloadBytes(size);
      const before = generated;
      const a = await keystore.encrypt(bytes, { context: CONTEXT });
      for (let i = 0; i < 9; i++) await keystore.encrypt(bytes, { context: CONTEXT });
      return [
        check(sameBytes(await keystore.decrypt(a, { context: CONTEXT }), bytes), 'round trip'),
        check(generated - before === 1, '10 encryptions, one GenerateDataKey (reused key)'),
      ];
    },
    runner(size) {
      const bytes = size === 1024 ? bytes1k : payloadBytes(size);
      return asyncRunner(async () => {
        const out = await keystore.decrypt(await keystore.encrypt(bytes, { context: CONTEXT }), {
          context: CONTEXT,
        });
        if (out.length !== size) throw new Error('wrong length');
      });
    },
  };
  return {
    contenders: [
      ours,
      esdkContender('esdk-cached-default', undefined, 'default suite (committing, ECDSA P-384 signed)'),
      esdkContender(
        'esdk-cached-unsigned',
        UNSIGNED,
        'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY (committing, unsigned)',
      ),
    ],
    async close() {
      await keystore.close();
    },
  };
}
