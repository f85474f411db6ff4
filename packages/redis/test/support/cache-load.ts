import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFileProvider, createMemoryProvider, Fernet, isKeystoreError, Keystore } from '@keystore/core';
import type { KeyProvider } from '@keystore/core/provider';
import { type CachedProvider, type WithRedisCacheOptions, withRedisCache } from '../../src/index.js';
import { opaque } from './cached.js';

/**
 * Two cache wrappers (as two processes) over one provider, and a bounded
 * load of encrypts and decrypts through them, every plaintext checked:
 * what the fault tests (tampered, lying, slow, hung Redis) run.
 *
 * - `file`: a file provider, a material store: its key records (`m:`) are
 *   cached; six keys and an L1 of two entries, so most lookups reach Redis.
 * - `opaque`: the memory provider seen as one without a store (as Vault
 *   Transit or KMS): unwrapped data keys (`d:`) are cached; each envelope
 *   is its own entry, and an L1 of 16 entries misses most of them.
 */
export type ScenarioKind = 'file' | 'opaque';

export const KEY_IDS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'] as const;

export interface Scenario {
  readonly kind: ScenarioKind;
  readonly wrappers: readonly [CachedProvider, CachedProvider];
  readonly keystores: readonly [Keystore, Keystore];
  /** Where the wrappers' entries are: `<prefix><namespace>:`. */
  readonly entryPrefix: string;
  /** Sums of both wrappers' stats. */
  totals(): { dropped: number; errors: number; redisHits: number; l1Hits: number; timeouts: number };
  /** One more wrapper over the same provider and options, its L1 cold (another process); closed with the scenario. */
  sibling(): Promise<{ wrapper: CachedProvider; keystore: Keystore }>;
  close(): Promise<void>;
}

export async function openScenario(
  kind: ScenarioKind,
  url: string,
  extra: Partial<WithRedisCacheOptions> = {},
): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'kstest-rload-'));
  let inner: KeyProvider;
  if (kind === 'file') {
    // A raw key, not a password: scrypt would spend the shared cores on nothing.
    inner = await createFileProvider({
      path: join(dir, 'load.keystore.json'),
      masterKey: randomBytes(32),
      create: true,
    });
    for (const id of KEY_IDS) await inner.createKey?.(id);
  } else {
    inner = opaque(await createMemoryProvider({ keys: [...KEY_IDS] })).provider;
  }
  const run = randomBytes(6).toString('hex');
  const prefix = `kstest:${run}:`;
  const namespace = `${kind}-load`;
  const options: WithRedisCacheOptions = {
    url: { value: url },
    cacheKey: { value: Fernet.generateKey() },
    prefix,
    namespace,
    ttlSeconds: 120,
    l1: { maxEntries: kind === 'file' ? 2 : 16, ttlSeconds: 1 },
    ...extra,
  };
  const a = await withRedisCache(inner, options);
  const b = await withRedisCache(inner, options);
  const wrappers = [a, b] as const;
  const siblings: CachedProvider[] = [];
  await until('connected and subscribed', () =>
    wrappers.every((w) => w.stats().connected && w.stats().subscribed),
  );
  const keystores = [
    new Keystore({ provider: a, allowedKeys: '*' }),
    new Keystore({ provider: b, allowedKeys: '*' }),
  ] as const;
  return {
    kind,
    wrappers,
    keystores,
    entryPrefix: `${prefix}${namespace}:`,
    totals() {
      const s = wrappers.map((w) => w.stats());
      const sum = (f: (x: (typeof s)[number]) => number) => s.reduce((n, x) => n + f(x), 0);
      return {
        dropped: sum((x) => x.dropped),
        errors: sum((x) => x.errors),
        redisHits: sum((x) => x.hits.redis),
        l1Hits: sum((x) => x.hits.l1),
        timeouts: sum((x) => x.redis.timeouts),
      };
    },
    async sibling() {
      const wrapper = await withRedisCache(inner, options);
      siblings.push(wrapper);
      await until('sibling connected', () => wrapper.stats().connected && wrapper.stats().subscribed);
      return { wrapper, keystore: new Keystore({ provider: wrapper, allowedKeys: '*' }) };
    },
    async close() {
      for (const w of [...wrappers, ...siblings]) await w.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function until(what: string, ok: () => boolean, ms = 5_000): Promise<number> {
  const started = performance.now();
  while (!ok()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(2);
  }
  return performance.now() - started;
}

export interface Written {
  readonly envelope: string;
  readonly plaintext: string;
  readonly id: string;
}

export interface LoadResult {
  done: number;
  /** A decrypt that returned another plaintext than was encrypted: must never happen. */
  wrong: number;
  /** Failures that are KeystoreErrors, by code. */
  typed: Record<string, number>;
  /** Failures that are not: must never happen. */
  untyped: unknown[];
  /** Each operation's wall time, ms. */
  times: number[];
  ms: number;
}

export interface LoadOptions {
  readonly operations: number;
  readonly concurrency: number;
  /** Envelopes to decrypt, shared between loads (this load adds what it encrypts). */
  readonly written: Written[];
  /** Called after each operation with the count done (to start a fault mid-load). */
  readonly onProgress?: (done: number) => void;
  /** Stop early once this is true (a time-bounded phase). */
  readonly stop?: () => boolean;
}

/**
 * Two in five operations encrypt (through alternate wrappers, over the six
 * keys), the rest decrypt a random earlier envelope through either wrapper.
 */
export async function runLoad(s: Scenario, o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { done: 0, wrong: 0, typed: {}, untyped: [], times: [], ms: 0 };
  let next = 0;
  const started = performance.now();

  async function operation(i: number): Promise<void> {
    const ks = s.keystores[i % 2] as Keystore;
    if (i % 5 < 2 || o.written.length === 0) {
      const id = `${i}-${randomBytes(3).toString('hex')}`;
      const plaintext = `record ${id} ${randomBytes(8).toString('hex')}`;
      const key = KEY_IDS[i % KEY_IDS.length] as string;
      o.written.push({ envelope: await ks.encrypt(plaintext, { key, context: { id } }), plaintext, id });
      return;
    }
    const pick = o.written[Math.floor(Math.random() * o.written.length)] as Written;
    const back = Buffer.from(await ks.decrypt(pick.envelope, { context: { id: pick.id } })).toString();
    if (back !== pick.plaintext) result.wrong++;
  }

  async function worker(): Promise<void> {
    while (next < o.operations && !(o.stop?.() ?? false)) {
      const i = next++;
      const t0 = performance.now();
      try {
        await operation(i);
      } catch (error) {
        if (isKeystoreError(error)) result.typed[error.code] = (result.typed[error.code] ?? 0) + 1;
        else result.untyped.push(error);
      }
      result.times.push(performance.now() - t0);
      result.done++;
      o.onProgress?.(result.done);
      // An encrypt or an L1 hit never waits on I/O: yield, or timers and sockets starve.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  await Promise.all(Array.from({ length: o.concurrency }, worker));
  result.ms = performance.now() - started;
  return result;
}

/** p50, p99 and max of `times`, ms, as text. */
export function percentiles(times: readonly number[]): {
  p50: number;
  p99: number;
  max: number;
  text: string;
} {
  const sorted = [...times].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const p50 = at(0.5);
  const p99 = at(0.99);
  const max = sorted[sorted.length - 1] ?? 0;
  return { p50, p99, max, text: `p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} / max ${max.toFixed(1)} ms` };
}

export const failures = (r: LoadResult) => Object.values(r.typed).reduce((n, x) => n + x, 0);
