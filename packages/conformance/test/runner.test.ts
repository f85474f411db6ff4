import { createMemoryProvider, type KeyProvider, KeystoreError } from '@keystore/core';
import { describe, expect, it } from 'vitest';
import {
  type ConformanceFactory,
  type ConformanceReport,
  type ConformanceResult,
  conformanceTests,
  formatConformanceReport,
  type ItLike,
  runConformance,
  runConformanceSuite,
} from '../src/index.js';

const memory: ConformanceFactory = async () => ({ provider: await createMemoryProvider() });

function resultOf(report: ConformanceReport, name: string): ConformanceResult {
  const found = report.results.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no result for '${name}'`);
  return found;
}

function failedNames(report: ConformanceReport): string[] {
  return report.results.filter((r) => r.status === 'failed').map((r) => r.name);
}

/** The memory provider with some methods replaced. */
function broken(inner: KeyProvider, patch: (inner: KeyProvider) => Partial<KeyProvider>): KeyProvider {
  return { ...inner, ...patch(inner) };
}

/** A fixture around a broken memory provider. */
function brokenFactory(patch: (inner: KeyProvider) => Partial<KeyProvider>): ConformanceFactory {
  return async () => ({ provider: broken(await createMemoryProvider(), patch) });
}

/** A read-only view of a memory provider holding two keys with two versions each. */
const readOnly: ConformanceFactory = async () => {
  const inner = await createMemoryProvider({ keys: ['app-a', 'app-b'] });
  await inner.rotateKey?.('app-a');
  await inner.rotateKey?.('app-b');
  const { createKey, importKey, rotateKey, deleteKey, ...rest } = inner;
  void createKey;
  void importKey;
  void rotateKey;
  void deleteKey;
  const provider: KeyProvider = {
    ...rest,
    capabilities: {
      ...inner.capabilities,
      createKey: false,
      importKey: false,
      rotateKey: false,
      deleteKey: false,
    },
  };
  return { provider, existingKeys: ['app-a', 'app-b'] };
};

const WRONG_CONTEXT = 'a wrong encryption context is rejected with InvalidToken';
const ROUND_TRIP = 'wrapKey/unwrapKey round trip';
const TAMPERED = 'a tampered or truncated wrapped key is rejected with InvalidToken';
const UNREACHABLE = 'an unreachable backend fails with ProviderUnavailable within 20 s';
const PROVIDER_SECRECY = 'provider errors never contain key material or data keys';

describe('runConformance (no test framework)', () => {
  it('passes the memory provider and reports every test in order', async () => {
    const seen: string[] = [];
    const report = await runConformance({ factory: memory, onResult: (r) => seen.push(r.name) });
    expect(failedNames(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.provider).toBe('memory');
    expect(report.results.map((r) => r.name)).toEqual(conformanceTests.map((t) => t.name));
    expect(seen).toEqual(conformanceTests.map((t) => t.name));
    expect(report.skipped).toBe(2);
    expect(resultOf(report, CACHE_DOWN).status).toBe('skipped');
    expect(resultOf(report, UNREACHABLE)).toMatchObject({
      status: 'skipped',
      group: 'availability',
      reason: expect.stringContaining('not applicable (embedded provider)'),
    });
    expect(report.passed + report.failed + report.skipped).toBe(report.results.length);
    for (const r of report.results) expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(formatConformanceReport(report)).toContain('OK: ');
  });

  it('runs only the tests the filter accepts', async () => {
    const report = await runConformance({ factory: memory, filter: (t) => t.group === 'lookup' });
    expect(report.results.length).toBeGreaterThan(0);
    expect(report.results.every((r) => r.group === 'lookup' && r.status === 'passed')).toBe(true);
  });

  it('skips what a read-only provider cannot do, naming the capability, and passes the rest', async () => {
    const report = await runConformance({ factory: readOnly });
    expect(failedNames(report)).toEqual([]);
    const skipped = report.results.filter((r) => r.status === 'skipped');
    expect(resultOf(report, 'rotation keeps old versions and wraps under the newest').reason).toBe(
      'requires createKey, rotateKey',
    );
    expect(resultOf(report, 'importKey makes a key of the given material and adds versions').reason).toBe(
      'requires importKey',
    );
    expect(skipped.length).toBeGreaterThan(5);
    // What needs only a key runs on the pre-made ones.
    for (const name of [
      ROUND_TRIP,
      WRONG_CONTEXT,
      TAMPERED,
      PROVIDER_SECRECY,
      'listKeys contains the keys',
    ]) {
      expect(resultOf(report, name).status).toBe('passed');
    }
    expect(formatConformanceReport(report)).toMatch(/createKey\s+0\s+0\s+\d+/);
  });

  it('reports a factory that fails as a failure of every test', async () => {
    const report = await runConformance({
      factory: async () => {
        throw new Error('no backend');
      },
      filter: (t) => t.group === 'wrap',
    });
    expect(report.ok).toBe(false);
    expect(report.provider).toBeUndefined();
    expect(report.results.every((r) => r.status === 'failed' && r.reason?.includes('no backend'))).toBe(true);
  });
});

describe('the suite catches broken providers', () => {
  it('a provider that ignores the encryption context', async () => {
    const report = await runConformance({
      factory: brokenFactory((inner) => ({
        wrapKey: (input) => inner.wrapKey({ ...input, context: {} }),
        unwrapKey: (input) => inner.unwrapKey({ ...input, context: {} }),
        generateDataKey: undefined,
        capabilities: { ...inner.capabilities, generateDataKey: false, rewrapKey: false },
      })),
    });
    expect(failedNames(report)).toContain(WRONG_CONTEXT);
    expect(resultOf(report, WRONG_CONTEXT).reason).toMatch(/expected it to fail with InvalidToken/);
  });

  it('a provider that returns a data key one byte short', async () => {
    const report = await runConformance({
      factory: brokenFactory((inner) => ({
        unwrapKey: async (input) => (await inner.unwrapKey(input)).subarray(1),
      })),
      filter: (t) => t.group === 'wrap',
    });
    expect(failedNames(report)).toContain(ROUND_TRIP);
    expect(resultOf(report, ROUND_TRIP).reason).toMatch(
      /expected 16 bytes, got 15|expected 32 bytes, got 31/,
    );
  });

  it('a provider that swallows unwrap failures and returns some key', async () => {
    const report = await runConformance({
      factory: brokenFactory((inner) => ({
        unwrapKey: (input) => inner.unwrapKey(input).catch(() => new Uint8Array(32)),
      })),
      filter: (t) => t.group === 'wrap',
    });
    expect(failedNames(report)).toEqual(expect.arrayContaining([WRONG_CONTEXT, TAMPERED]));
  });

  it('a provider whose errors carry key material', async () => {
    const report = await runConformance({
      factory: brokenFactory((inner) => ({
        async unwrapKey(input) {
          try {
            return await inner.unwrapKey(input);
          } catch (error) {
            const material = await inner.getKey?.(input.keyId, input.version).catch(() => undefined);
            if (material === undefined) throw error;
            const shown = Buffer.from(material.material).toString('base64');
            throw new KeystoreError('InvalidToken', `cannot unwrap under key ${shown}`);
          }
        },
      })),
      filter: (t) => t.group === 'secrecy',
    });
    expect(failedNames(report)).toContain(PROVIDER_SECRECY);
    expect(resultOf(report, PROVIDER_SECRECY).reason).toMatch(/the key material shows in .*error\.message/);
  });

  it('a provider whose close is not idempotent', async () => {
    const report = await runConformance({
      factory: brokenFactory((inner) => {
        let closed = false;
        return {
          async close() {
            if (closed) throw new Error('already closed');
            closed = true;
            await inner.close();
          },
        };
      }),
      filter: (t) => t.group === 'close',
    });
    expect(failedNames(report)).toContain('close is idempotent');
  });

  it('an unreachable backend: ProviderUnavailable passes, another error fails', async () => {
    const unreachable = (error: Error) => async () =>
      broken(await createMemoryProvider(), () => ({
        wrapKey: async () => Promise.reject(error),
        unwrapKey: async () => Promise.reject(error),
        generateDataKey: async () => Promise.reject(error),
      }));
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const good = await runConformance({
      factory: async () => ({ ...(await memory()), unreachable: unreachable(refused) }),
      filter: (t) => t.name === UNREACHABLE,
    });
    expect(good.results.map((r) => r.status)).toEqual(['passed']);
    const bad = await runConformance({
      factory: async () => ({ ...(await memory()), unreachable: unreachable(new Error('boom')) }),
      filter: (t) => t.name === UNREACHABLE,
    });
    expect(bad.results.map((r) => r.status)).toEqual(['failed']);
    expect(bad.results[0]?.reason).toMatch(/expected code ProviderUnavailable, got ProviderError/);
  });
});

const PER_MESSAGE = 'generateDataKey per message: a fresh data key, or reuse within the declared limit';
const CACHE_DOWN = 'a cache that cannot be reached is not a down provider';

/** The memory provider handing one data key per key id and context to up to `limit` messages (a reusing cache, roughly). */
function reusing(inner: KeyProvider, limit: number, options: { keepOnRotation?: boolean } = {}): KeyProvider {
  const reused = new Map<
    string,
    { key: Awaited<ReturnType<Required<KeyProvider>['generateDataKey']>>; uses: number }
  >();
  const generate = inner.generateDataKey?.bind(inner);
  return broken(inner, () => ({
    async generateDataKey(input) {
      if (generate === undefined) throw new Error('the memory provider generates data keys');
      if (input.plaintextBytes === undefined) return generate(input);
      const name = `${input.keyId} ${JSON.stringify(input.context ?? {})} ${input.length}`;
      const entry = reused.get(name);
      if (entry !== undefined && entry.uses < limit) {
        entry.uses++;
        return { plaintext: new Uint8Array(entry.key.plaintext), wrapped: entry.key.wrapped };
      }
      const key = await generate(input);
      reused.set(name, { key: { plaintext: new Uint8Array(key.plaintext), wrapped: key.wrapped }, uses: 1 });
      return key;
    },
    async rotateKey(keyId) {
      if (options.keepOnRotation !== true) {
        for (const name of reused.keys()) if (name.startsWith(`${keyId} `)) reused.delete(name);
      }
      return (inner.rotateKey as Required<KeyProvider>['rotateKey'])(keyId);
    },
  }));
}

describe('what a cache in front may change', () => {
  const perMessage = (factory: ConformanceFactory) =>
    runConformance({ factory, filter: (t) => t.name === PER_MESSAGE });

  it('a fresh data key per message passes; a reused one fails unless the fixture declares reuse', async () => {
    expect((await perMessage(memory)).results.map((r) => r.status)).toEqual(['passed']);
    const undeclared = await perMessage(async () => ({ provider: reusing(await createMemoryProvider(), 5) }));
    expect(undeclared.results[0]?.reason).toMatch(/no data-key reuse is declared/);
    const declared = await perMessage(async () => ({
      provider: reusing(await createMemoryProvider(), 5),
      dataKeyReuse: { maxMessages: 5 },
    }));
    expect(declared.results.map((r) => r.status)).toEqual(['passed']);
  });

  it('reuse past the declared limit, or of a key from before a rotation, fails', async () => {
    const over = await perMessage(async () => ({
      provider: reusing(await createMemoryProvider(), 6),
      dataKeyReuse: { maxMessages: 5 },
    }));
    expect(over.results[0]?.reason).toMatch(/one data key served 6 messages \(declared limit: 5\)/);
    const kept = await perMessage(async () => ({
      provider: reusing(await createMemoryProvider(), 5, { keepOnRotation: true }),
      dataKeyReuse: { maxMessages: 5 },
    }));
    expect(kept.results[0]?.reason).toMatch(/after rotateKey gave the data key it gave before the rotation/);
  });

  it('a provider that still answers with its cache down passes; one that fails fails', async () => {
    const down = (inner: KeyProvider, answers: boolean): KeyProvider =>
      broken(inner, () => ({
        close: async () => {},
        ...(answers
          ? {}
          : {
              wrapKey: async () =>
                Promise.reject(
                  Object.assign(new Error('the cache is down'), { code: 'ProviderUnavailable' }),
                ),
            }),
      }));
    const run = (answers: boolean) =>
      runConformance({
        factory: async () => {
          const provider = await createMemoryProvider();
          return { provider, unreachableCache: async () => down(provider, answers) };
        },
        filter: (t) => t.name === CACHE_DOWN,
      });
    expect((await run(true)).results.map((r) => r.status)).toEqual(['passed']);
    const bad = await run(false);
    expect(bad.results.map((r) => r.status)).toEqual(['failed']);
    expect(bad.results[0]?.reason).toMatch(/wrapKey with the cache down failed/);
    const skipped = await runConformance({ factory: memory, filter: (t) => t.name === CACHE_DOWN });
    expect(skipped.results[0]?.reason).toMatch(/no cache in front/);
  });
});

describe('runConformanceSuite (registration)', () => {
  /** A stand-in for vitest's describe/it that records what gets registered. */
  function recorder() {
    const registered: { title: string; fn: (ctx: { skip?: (note?: string) => void }) => Promise<void> }[] =
      [];
    const skipped: string[] = [];
    const it: ItLike = Object.assign(
      (title: string, fn: (ctx: { skip?: (note?: string) => void }) => Promise<void>) => {
        registered.push({ title, fn });
      },
      { skip: (title: string) => skipped.push(title) },
    );
    let collected: Promise<void> = Promise.resolve();
    const describe = (_name: string, fn: () => Promise<void>) => {
      collected = fn();
    };
    return { it, describe, registered, skipped, collected: () => collected };
  }

  it('registers unsupported tests as skipped, with the reason in the title', async () => {
    const r = recorder();
    runConformanceSuite({ name: 'read-only', describe: r.describe, it: r.it, factory: readOnly });
    await r.collected();
    expect(r.skipped).toContain(
      'rotation: rotation keeps old versions and wraps under the newest [skipped: requires createKey, rotateKey]',
    );
    expect(r.skipped.some((t) => t.includes('not applicable (embedded provider)'))).toBe(true);
    expect(r.registered.at(-1)?.title).toBe('reports unsupported capabilities');
    expect(r.registered.length + r.skipped.length).toBe(conformanceTests.length + 1);
  });

  it('a registered test throws when the provider breaks the contract', async () => {
    const r = recorder();
    runConformanceSuite({
      name: 'broken',
      describe: r.describe,
      it: r.it,
      factory: brokenFactory((inner) => ({
        unwrapKey: (input) => inner.unwrapKey({ ...input, context: {} }),
        wrapKey: (input) => inner.wrapKey({ ...input, context: {} }),
      })),
      filter: (t) => t.name === WRONG_CONTEXT,
    });
    await r.collected();
    const test = r.registered.find((t) => t.title === `wrap: ${WRONG_CONTEXT}`);
    await expect(test?.fn({})).rejects.toThrow(/InvalidToken/);
  });
});
