import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryProvider, Fernet, isKeystoreError, Keystore } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, expect, it } from 'vitest';
import { type CachedProvider, withRedisCache } from '../src/index.js';
import { opaque } from './support/cached.js';
import { freePort, PrivateRedis } from './support/private-redis.js';

/*
 * redis-server killed during a bounded load, then started again on the same
 * port. A private server: the shared one is never stopped. The memory
 * provider is seen as one without a store (as Vault Transit or KMS are), so
 * every decrypt that misses the small L1 asks Redis: the outage is felt by
 * most operations, not once per L1 ttl.
 */
const redis = await requireService('redis');

const OPERATIONS = 10_000;
const CONCURRENCY = 32;
const KILL_AT = 2_500; // operations done when redis-server is killed
const DOWN_MS = 300;

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<number> {
  const started = performance.now();
  while (!ok()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(2);
  }
  return performance.now() - started;
}

describe.skipIf(redis.skip)('redis-server killed during a load of 10,000 operations', () => {
  it('every operation succeeds (fail-open), no plaintext is ever wrong, and the cache resumes', {
    timeout: 30_000,
  }, async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    let restarted: PrivateRedis | undefined;
    const wrappers: CachedProvider[] = [];
    try {
      const inner = await createMemoryProvider({ keys: ['patients'] });
      const options = {
        url: { value: server.url },
        cacheKey: { value: Fernet.generateKey() },
        prefix: `kstest:${randomBytes(6).toString('hex')}:`,
        namespace: 'fault',
        ttlSeconds: 120,
        // Small, so that decrypts keep reaching Redis.
        l1: { maxEntries: 16, ttlSeconds: 1 },
      };
      // Two wrappers over one provider, as two processes: B decrypts what A encrypted, from Redis when it can.
      for (let i = 0; i < 2; i++) wrappers.push(await withRedisCache(opaque(inner).provider, options));
      const [a, b] = wrappers as [CachedProvider, CachedProvider];
      await until('connected', () => wrappers.every((w) => w.stats().connected && w.stats().subscribed));
      const ksA = new Keystore({ provider: a, allowedKeys: '*' });
      const ksB = new Keystore({ provider: b, allowedKeys: '*' });

      const written: { envelope: string; plaintext: string; id: string }[] = [];
      const failures: unknown[] = [];
      let wrong = 0;
      let done = 0;
      let next = 0;
      let duringOutage = 0;
      let down = false;

      async function operation(i: number): Promise<void> {
        // Encrypt two in five; decrypt the rest, half through each wrapper.
        if (i % 5 < 2 || written.length === 0) {
          const id = String(i);
          const plaintext = `record ${i} ${randomBytes(8).toString('hex')}`;
          written.push({
            envelope: await ksA.encrypt(plaintext, { key: 'patients', context: { id } }),
            plaintext,
            id,
          });
          return;
        }
        const pick = written[Math.floor(Math.random() * written.length)] as (typeof written)[number];
        const ks = i % 2 === 0 ? ksA : ksB;
        const back = Buffer.from(await ks.decrypt(pick.envelope, { context: { id: pick.id } })).toString();
        if (back !== pick.plaintext) wrong++;
      }

      async function worker(): Promise<void> {
        while (next < OPERATIONS) {
          const i = next++;
          try {
            await operation(i);
          } catch (error) {
            failures.push(error);
          }
          done++;
          if (down) duringOutage++;
          // An encrypt, or a decrypt from the L1, never waits on I/O: without this a worker
          // would run on microtasks alone and starve the timers and child-process events.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }

      const trace: string[] = [];
      let restartedAt = 0;
      let reconnectMs = 0;
      const statsAtRestart = { errors: 0 };
      async function outage(): Promise<void> {
        await until('load under way', () => done >= KILL_AT, 20_000);
        trace.push(`kill at ${done}`);
        await server.stop(); // SIGKILL: a crash
        trace.push(`killed at ${done}`);
        down = true;
        await sleep(DOWN_MS);
        restarted = new PrivateRedis(server.port);
        await restarted.start();
        down = false;
        restartedAt = done;
        trace.push(`restarted at ${done}`);
        statsAtRestart.errors = a.stats().errors + b.stats().errors;
        reconnectMs = await until('reconnected', () => wrappers.every((w) => w.stats().connected), 5_000);
      }

      const started = performance.now();
      await Promise.all([outage(), ...Array.from({ length: CONCURRENCY }, worker)]);
      const ms = performance.now() - started;

      // Every failure is a typed KeystoreError; fail-open: there are none.
      for (const f of failures) expect(isKeystoreError(f)).toBe(true);
      expect(failures).toEqual([]);
      expect(wrong).toBe(0);
      expect(done).toBe(OPERATIONS);
      expect(duringOutage).toBeGreaterThan(0);
      expect(restartedAt).toBeLessThan(OPERATIONS); // the load went on after the restart
      expect(statsAtRestart.errors).toBeGreaterThan(0); // the outage was felt, and counted

      // The cache resumes: A's decrypts store data keys in the new (empty) Redis; B, its L1 cold for them, reads them back.
      await until('subscribed again', () => wrappers.every((w) => w.stats().subscribed), 5_000);
      const hitsBefore = b.stats().hits.redis;
      const fresh = written.slice(-200).filter((_, i) => i % 10 === 0);
      for (const w of fresh) await ksA.decrypt(w.envelope, { context: { id: w.id } });
      for (const w of fresh) {
        expect(Buffer.from(await ksB.decrypt(w.envelope, { context: { id: w.id } })).toString()).toBe(
          w.plaintext,
        );
      }
      const resumedHits = b.stats().hits.redis - hitsBefore;
      expect(resumedHits).toBeGreaterThan(0);

      const s = [a.stats(), b.stats()];
      console.info(
        `fault: ${OPERATIONS} ops at concurrency ${CONCURRENCY} in ${ms.toFixed(0)} ms; ${duringOutage} done while redis-server was down; ` +
          `killed at ${KILL_AT}, restarted at ${restartedAt}; reconnected ${reconnectMs.toFixed(0)} ms after the restart; ` +
          `redis errors ${s.map((x) => x.errors).join('+')}, hits l1 ${s.map((x) => x.hits.l1).join('+')}, redis ${s.map((x) => x.hits.redis).join('+')}, ` +
          `misses ${s.map((x) => x.misses).join('+')}, dropped ${s.map((x) => x.dropped).join('+')}; after: ${resumedHits}/${fresh.length} Redis hits (${trace.join(', ')})`,
      );
      await Promise.all([ksA.close(), ksB.close()]);
    } finally {
      for (const w of wrappers) await w.close().catch(() => undefined);
      await server.stop();
      await restarted?.stop();
    }
  });
});
