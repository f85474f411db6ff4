import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fernet } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generationName, keyTag, materialEntryName } from '../src/cache/entry-names.js';
import { ValueCodec } from '../src/codec/value-codec.js';
import {
  failures,
  openScenario,
  runLoad,
  type Scenario,
  type ScenarioKind,
  type Written,
} from './support/cache-load.js';
import { keysUnder } from './support/redis-keys.js';
import { TcpProxy } from './support/tcp-proxy.js';

/*
 * Values in Redis that are not what the cache wrote, while a load runs
 * through two wrappers: rewritten by a client of the test (anyone who can
 * write to Redis), or corrupted on the wire by a proxy (a lying Redis).
 * Against test-infra's Redis, each run under its own prefix.
 */
const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
/** The tamperer: a bare client of the test's own, writing under the run's prefixes only. */
const raw = new Redis(url, { lazyConnect: true });
const prefixes: string[] = [];

afterAll(async () => {
  if (raw.status === 'wait') return;
  for (const p of prefixes) {
    const keys = await scan(p);
    if (keys.length > 0) await raw.del(...keys);
  }
  raw.disconnect();
});

const scan = (prefix: string) => keysUnder(raw, prefix);

type Tamper = 'random' | 'foreign' | 'swap' | 'truncated' | 'replay';
const DETECTABLE: readonly Tamper[] = ['random', 'foreign', 'swap', 'truncated'];

/**
 * Rewrites the scenario's values until `stop`: each round one value, by
 * turns random bytes, a valid token under another Fernet key (for the right
 * name), another entry's value (a swap), a truncated value, and an earlier
 * value of the same name (a replay: a valid token the cache wrote before,
 * e.g. a key record from before a rotation). Counts what it wrote.
 */
async function tamper(s: Scenario, stop: () => boolean) {
  const counts: Record<Tamper, number> = { random: 0, foreign: 0, swap: 0, truncated: 0, replay: 0 };
  const foreign = new ValueCodec({ cacheKey: Fernet.generateKey(), maxTtlSeconds: 120 });
  /** Every value the cache wrote that the tamperer saw, per name (the replays come from here). */
  const history = new Map<string, Set<string>>();
  const ours = new Set<string>();
  let names: string[] = [];
  for (let round = 0; !stop(); round++) {
    if (round % 50 === 0) names = await scan(s.entryPrefix);
    // Each round waits on Redis twice: the tamperer runs beside the load, not in a busy loop.
    if (names.length < 2) {
      await sleep(2);
      continue;
    }
    const name = names[Math.floor(Math.random() * names.length)] as string;
    const current = await raw.get(name);
    if (current !== null && !ours.has(current)) {
      const seen = history.get(name) ?? new Set<string>();
      seen.add(current);
      history.set(name, seen);
    }
    const kind = (['random', 'foreign', 'swap', 'truncated', 'replay'] as const)[round % 5] as Tamper;
    let value: string | undefined;
    if (kind === 'random') value = randomBytes(20 + Math.floor(Math.random() * 200)).toString('latin1');
    else if (kind === 'foreign') value = foreign.encode(name, randomBytes(32 + (round % 3) * 200), 120);
    else if (kind === 'swap') {
      const other = names.find((n) => n !== name && history.has(n));
      const stolen = other === undefined ? undefined : [...(history.get(other) ?? [])].pop();
      value = stolen;
    } else if (kind === 'truncated') {
      if (current !== null && !ours.has(current)) value = current.slice(0, current.length - 1 - (round % 20));
    } else {
      const older = [...(history.get(name) ?? [])].filter((t) => t !== current);
      value = older[Math.floor(Math.random() * older.length)];
    }
    if (value === undefined) continue;
    if (kind !== 'replay') ours.add(value);
    await raw.set(name, value, 'EX', 120);
    counts[kind]++;
  }
  return counts;
}

describe.skipIf(redis.skip)('tampered values under load', () => {
  for (const kind of ['file', 'opaque'] as const satisfies readonly ScenarioKind[]) {
    it(`${kind}: 3,000 operations while Redis values are rewritten: right plaintext or a typed error, tampering dropped and counted`, {
      timeout: 40_000,
    }, async () => {
      const s = await openScenario(kind, url);
      prefixes.push(s.entryPrefix);
      try {
        const written: Written[] = [];
        // Entries to tamper with, first (no tampering yet).
        const warm = await runLoad(s, { operations: 200, concurrency: 8, written });
        expect([warm.wrong, warm.untyped.length, failures(warm)]).toEqual([0, 0, 0]);

        let loading = true;
        let rotations = 0;
        const [load, counts] = await Promise.all([
          runLoad(s, {
            operations: 3_000,
            concurrency: 16,
            written,
            onProgress: (done) => {
              // Rotations make generations: a record from before one is what a replay brings back.
              if (done % 250 === 0) {
                rotations++;
                void s.keystores[0].rotate(`k${done % 6}`).catch(() => undefined);
              }
            },
          }).finally(() => {
            loading = false;
          }),
          tamper(s, () => !loading),
        ]);
        const t = s.totals();
        const detectable = DETECTABLE.reduce((n, k) => n + counts[k], 0);
        console.info(
          `[tamper ${kind}] ${load.done} ops in ${load.ms.toFixed(0)} ms, ${rotations} rotations; tampered ${JSON.stringify(counts)}; ` +
            `dropped ${t.dropped} of ${detectable} detectable tampers; redis hits ${t.redisHits}, l1 ${t.l1Hits}; typed failures ${JSON.stringify(load.typed)}`,
        );
        expect(load.untyped).toEqual([]);
        expect(load.wrong).toBe(0);
        // Fail-open, and every tampered value dropped before use: not even a typed failure.
        expect(failures(load)).toBe(0);
        expect(load.done).toBe(3_000);
        expect(detectable).toBeGreaterThan(50);
        expect(t.redisHits).toBeGreaterThan(0); // Redis was read, not only the L1
        expect(t.dropped).toBeGreaterThan(0);
        // Each tampered value is dropped at most once per wrapper (the DEL follows the first read).
        expect(t.dropped).toBeLessThanOrEqual(2 * detectable);
        // A value tampered with and not read before the cache overwrote it, or never read again, is not dropped.
        expect(t.dropped).toBeGreaterThanOrEqual(Math.floor(detectable / 10));
      } finally {
        await s.close();
      }
    });
  }
});

describe.skipIf(redis.skip)('a replayed key record from before a rotation', () => {
  it('is refused by its generation; replayed with the old generation too (a Redis writer), it lasts until its own expiry', {
    timeout: 20_000,
  }, async () => {
    // ttlSeconds 2: the bound on a replay of record and counter is the replayed token's own expiry.
    const s = await openScenario('file', url, { ttlSeconds: 2, l1: { maxEntries: 2, ttlSeconds: 1 } });
    prefixes.push(s.entryPrefix);
    try {
      const [ksA] = s.keystores;
      const name = `${s.entryPrefix}${materialEntryName(keyTag('k0'))}`;
      const counter = `${s.entryPrefix}${generationName(keyTag('k0'))}`;
      const v1 = await ksA.encrypt('before', { key: 'k0', context: { id: 'r' } });
      expect(ksA.inspect(v1).version).toBe(1);
      const captured = await raw.get(name);
      const capturedGeneration = await raw.get(counter);
      expect(captured).toMatch(/^gAAAAA/);

      await ksA.rotate('k0');
      expect(await raw.get(counter)).not.toBe(capturedGeneration);
      const v2 = await ksA.encrypt('after', { key: 'k0', context: { id: 'r' } });
      expect(ksA.inspect(v2).version).toBe(2);
      // The replay: the record from before the rotation, a token the cache itself wrote, put back.
      await raw.set(name, captured as string, 'EX', 120);

      // A wrapper with a cold L1 (another process) over the same store: the record's sealed generation is
      // not the counter's, so it is not used (counted as an invalidation, not as tampering), and v2 is.
      const b = await s.sibling();
      const refused = await b.keystore.encrypt('during', { key: 'k0', context: { id: 'r' } });
      expect(b.keystore.inspect(refused).version).toBe(2);
      expect(b.wrapper.stats().hits.redis).toBe(0);
      expect(b.wrapper.stats().dropped).toBe(0);

      // Someone who can write to Redis can put the counter back too: the seal cannot see that, and a cold
      // wrapper then encrypts under v1 (still a valid key of the store) ...
      await raw.set(name, captured as string, 'EX', 120);
      if (capturedGeneration === null) await raw.del(counter);
      else await raw.set(counter, capturedGeneration, 'EX', 120);
      const c = await s.sibling();
      const replayed = await c.keystore.encrypt('during', { key: 'k0', context: { id: 'r' } });
      expect(c.keystore.inspect(replayed).version).toBe(1);
      expect(c.wrapper.stats().dropped).toBe(0);
      // ... which still decrypts, and so does the new envelope: an unknown version reloads from the store.
      expect(Buffer.from(await ksA.decrypt(replayed, { context: { id: 'r' } })).toString()).toBe('during');
      expect(Buffer.from(await c.keystore.decrypt(v2, { context: { id: 'r' } })).toString()).toBe('after');

      // Past the captured token's expiry (ttlSeconds after it was written) the same replay is refused.
      await sleep(2_200);
      await raw.set(name, captured as string, 'EX', 120);
      if (capturedGeneration === null) await raw.del(counter);
      else await raw.set(counter, capturedGeneration, 'EX', 120);
      const late = await s.sibling();
      const afterExpiry = await late.keystore.encrypt('late', { key: 'k0', context: { id: 'r' } });
      expect(late.keystore.inspect(afterExpiry).version).toBe(2);
      expect(late.wrapper.stats().dropped).toBe(1);
    } finally {
      await s.close();
    }
  });
});

describe.skipIf(redis.skip)('a lying Redis: a proxy corrupting cached values in GET replies', () => {
  for (const kind of ['file', 'opaque'] as const satisfies readonly ScenarioKind[]) {
    it(`${kind}: every corrupted value is dropped and counted, every operation correct`, {
      timeout: 40_000,
    }, async () => {
      const target = new URL(url);
      const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
      await proxy.listen();
      const s = await openScenario(kind, proxy.urlFor(url));
      prefixes.push(s.entryPrefix);
      try {
        const written: Written[] = [];
        await runLoad(s, { operations: 200, concurrency: 8, written });
        proxy.corruptShare = 0.3;
        const load = await runLoad(s, { operations: 2_000, concurrency: 16, written });
        proxy.corruptShare = 0;
        const t = s.totals();
        console.info(
          `[lying ${kind}] ${load.done} ops in ${load.ms.toFixed(0)} ms; ${proxy.corrupted} of ${proxy.tokens} cached values corrupted on the wire; ` +
            `dropped ${t.dropped}; redis hits ${t.redisHits}, timeouts ${t.timeouts}; typed failures ${JSON.stringify(load.typed)}`,
        );
        expect(load.untyped).toEqual([]);
        expect(load.wrong).toBe(0);
        expect(failures(load)).toBe(0);
        expect(proxy.corrupted).toBeGreaterThan(50);
        // A corrupted reply is dropped exactly once, unless its GET had timed out before it came.
        expect(t.dropped).toBeLessThanOrEqual(proxy.corrupted);
        expect(t.dropped).toBeGreaterThanOrEqual(proxy.corrupted - t.timeouts);
      } finally {
        await s.close();
        await proxy.close();
      }
    });
  }
});
