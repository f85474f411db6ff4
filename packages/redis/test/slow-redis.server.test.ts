import { setTimeout as sleep } from 'node:timers/promises';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  failures,
  type LoadResult,
  openScenario,
  percentiles,
  runLoad,
  type Scenario,
  type ScenarioKind,
  until,
  type Written,
} from './support/cache-load.js';
import { freePort, PrivateRedis } from './support/private-redis.js';
import { TcpProxy } from './support/tcp-proxy.js';

/*
 * A Redis that answers too late (a proxy holding every reply back 400 ms,
 * against commandTimeoutMs 100) or not at all (redis-server SIGSTOPped for
 * 2 s), during a bounded load through two wrappers. A private redis-server:
 * the shared one is never paused.
 */
const redis = await requireService('redis');

const COMMAND_TIMEOUT_MS = 100;
const DELAY_MS = 400;
const HANG_MS = 2_000;
/** Loose on purpose (2 cores shared with others): a call waits for at most a command or two, never for Redis. */
const MAX_CALL_MS = 2_000;

let server: PrivateRedis;

beforeAll(async () => {
  if (redis.skip) return;
  server = new PrivateRedis(await freePort());
  await server.start();
});

afterAll(async () => {
  server?.resume();
  await server?.stop();
});

function report(label: string, s: Scenario, r: LoadResult): void {
  const t = s.totals();
  console.info(
    `[${label}] ${r.done} ops in ${r.ms.toFixed(0)} ms; call time ${percentiles(r.times).text}; ` +
      `redis errors ${t.errors} (timeouts ${t.timeouts}); hits redis ${t.redisHits}, l1 ${t.l1Hits}; failures ${JSON.stringify(r.typed)}`,
  );
}

/** The load after the fault: Redis answers again, and is read again. */
async function resumes(s: Scenario, written: Written[]): Promise<number> {
  await until('connected', () => s.wrappers.every((w) => w.stats().connected), 5_000);
  const before = s.totals().redisHits;
  const after = await runLoad(s, { operations: 300, concurrency: 8, written });
  expect([after.wrong, after.untyped.length, failures(after)]).toEqual([0, 0, 0]);
  return s.totals().redisHits - before;
}

function checkFailOpen(r: LoadResult): void {
  expect(r.untyped).toEqual([]);
  expect(r.wrong).toBe(0);
  expect(failures(r)).toBe(0);
  expect(percentiles(r.times).max).toBeLessThan(MAX_CALL_MS);
}

function checkFailClosed(r: LoadResult): void {
  expect(r.untyped).toEqual([]);
  expect(r.wrong).toBe(0);
  // Typed, and only the cache's: the provider itself was up.
  expect(Object.keys(r.typed)).toEqual(['ProviderUnavailable']);
  expect(failures(r)).toBeGreaterThan(0);
  expect(percentiles(r.times).max).toBeLessThan(MAX_CALL_MS);
}

describe.skipIf(redis.skip)('a slow Redis under load: every reply 400 ms late, commandTimeoutMs 100', () => {
  for (const onRedisError of ['fail-open', 'fail-closed'] as const) {
    for (const kind of ['file', 'opaque'] as const satisfies readonly ScenarioKind[]) {
      it(`${kind}, ${onRedisError}: ${onRedisError === 'fail-open' ? 'every call succeeds' : 'calls fail typed'}, none waits for Redis; hits resume once it is fast again`, {
        timeout: 30_000,
      }, async () => {
        const proxy = new TcpProxy({ host: '127.0.0.1', port: server.port });
        await proxy.listen();
        const s = await openScenario(kind, proxy.urlFor(server.url), {
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          onRedisError,
        });
        try {
          const written: Written[] = [];
          const warm = await runLoad(s, { operations: 200, concurrency: 8, written });
          expect([warm.wrong, warm.untyped.length, failures(warm)]).toEqual([0, 0, 0]);
          const errorsBefore = s.totals().errors;

          proxy.delayMs = DELAY_MS;
          const slow = await runLoad(s, { operations: 500, concurrency: 16, written });
          proxy.delayMs = 0;
          report(`slow ${kind} ${onRedisError}`, s, slow);
          if (onRedisError === 'fail-open') checkFailOpen(slow);
          else checkFailClosed(slow);
          expect(s.totals().errors - errorsBefore).toBeGreaterThan(0);
          expect(s.totals().timeouts).toBeGreaterThan(0);

          await sleep(DELAY_MS + 100); // the replies still held back come, late, and are ignored
          const resumedHits = await resumes(s, written);
          console.info(`[slow ${kind} ${onRedisError}] after: ${resumedHits} Redis hits in 300 ops`);
          expect(resumedHits).toBeGreaterThan(0);
        } finally {
          await s.close();
          await proxy.close();
        }
      });
    }
  }
});

describe.skipIf(redis.skip)('a hung Redis under load: SIGSTOP for 2 s, then SIGCONT', () => {
  for (const onRedisError of ['fail-open', 'fail-closed'] as const) {
    for (const kind of ['file', 'opaque'] as const satisfies readonly ScenarioKind[]) {
      it(`${kind}, ${onRedisError}: ${onRedisError === 'fail-open' ? 'every call succeeds' : 'calls fail typed'}, none hangs; hits resume after SIGCONT`, {
        timeout: 30_000,
      }, async () => {
        const s = await openScenario(kind, server.url, {
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          onRedisError,
        });
        try {
          const written: Written[] = [];
          const warm = await runLoad(s, { operations: 200, concurrency: 8, written });
          expect([warm.wrong, warm.untyped.length, failures(warm)]).toEqual([0, 0, 0]);
          const errorsBefore = s.totals().errors;

          let hung = false;
          let over = false;
          let duringHang = 0;
          const hang = async () => {
            await sleep(100); // the load under way
            server.pause();
            hung = true;
            await sleep(HANG_MS);
            server.resume();
            hung = false;
            await sleep(200); // and on a little after
            over = true;
          };
          const [load] = await Promise.all([
            runLoad(s, {
              operations: 20_000, // bounded by time: stops 200 ms after SIGCONT
              concurrency: 16,
              written,
              stop: () => over,
              onProgress: () => {
                if (hung) duringHang++;
              },
            }),
            hang(),
          ]).finally(() => server.resume());
          report(`hung ${kind} ${onRedisError}`, s, load);
          console.info(
            `[hung ${kind} ${onRedisError}] ${duringHang} ops done while redis-server was stopped`,
          );
          expect(duringHang).toBeGreaterThan(0);
          if (onRedisError === 'fail-open') checkFailOpen(load);
          else checkFailClosed(load);
          expect(s.totals().errors - errorsBefore).toBeGreaterThan(0);

          const resumedHits = await resumes(s, written);
          console.info(`[hung ${kind} ${onRedisError}] after: ${resumedHits} Redis hits in 300 ops`);
          expect(resumedHits).toBeGreaterThan(0);
        } finally {
          server.resume();
          await s.close();
        }
      });
    }
  }
});
