import { describe, expect, it } from 'vitest';
import { createKeystore } from '../keystore/create-keystore.js';
import type { GenerateDataKeyInput, KeyProvider } from '../provider/key-provider.js';
import { createMaterialProvider, materialStoreOf } from '../provider/material-provider.js';
import { createMemoryStore } from '../providers/memory/memory-store.js';
import { defineCache } from './cache-definition.js';
import { resolveCache } from './cache-registry.js';

/** A cache type for tests: records what it wraps and what generateDataKey is told, passes every call on. */
function recordingCache() {
  const wrapped: { type: string; namespace: string; ttl: number }[] = [];
  const generated: GenerateDataKeyInput[] = [];
  let closed = 0;
  const definition = defineCache<{ type: 'recording'; ttlSeconds: number }>({
    type: 'recording',
    parseConfig(config) {
      const c = config as { type: 'recording'; ttlSeconds?: unknown };
      if (typeof c.ttlSeconds !== 'number') throw new Error('ttlSeconds');
      return { type: 'recording', ttlSeconds: c.ttlSeconds };
    },
    async wrap(provider, config, context) {
      if (config.ttlSeconds === 0) throw new Error('refused to wrap');
      wrapped.push({ type: provider.type, namespace: context.namespace, ttl: config.ttlSeconds });
      const inner = provider as Required<KeyProvider>;
      return {
        ...inner,
        generateDataKey: async (input) => {
          generated.push(input);
          return inner.generateDataKey(input);
        },
        close: async () => {
          closed++;
          await inner.close();
        },
        stats: () => ({ wrapped: provider.type, generated: generated.length }),
      };
    },
  });
  return { definition, wrapped, generated, closed: () => closed };
}

describe('cache types', () => {
  it('wrap the provider a configuration builds, and each recipient by name', async () => {
    const cache = recordingCache();
    const caches = { recording: cache.definition };
    const ks = await createKeystore(
      {
        provider: { type: 'memory', keys: ['app'] },
        defaultKey: 'app',
        cache: { type: 'recording', ttlSeconds: 5 },
      } as never,
      { caches },
    );
    await ks.encrypt('four bytes → more');
    expect(cache.wrapped).toEqual([
      { type: 'memory', namespace: expect.stringMatching(/^memory-[0-9a-f]{16}$/), ttl: 5 },
    ]);
    // The data's size reaches generateDataKey, for a cache that bounds data-key reuse by bytes.
    expect(cache.generated.map((g) => g.plaintextBytes)).toEqual([Buffer.byteLength('four bytes → more')]);
    // The cache's stats() reach the caller through the keystore (the guard in between does not pass them on).
    expect(ks.cacheStats()).toEqual([
      { recipient: 'memory', provider: 'memory', stats: { wrapped: 'memory', generated: 1 } },
    ]);
    await ks.close();
    expect(cache.closed()).toBe(1);

    const two = await createKeystore(
      {
        recipients: [
          { name: 'main', provider: { type: 'memory', keys: ['a'] }, key: 'a' },
          { name: 'glass', provider: { type: 'env' }, key: 'g' },
        ],
        cache: { type: 'recording', ttlSeconds: 7 },
      } as never,
      { caches, env: { KEYSTORE_KEY_G: 'uJlQ2L3b6h8WYHzN0mHjEhYSp0ZyBEOGcCbdBSO5RVQ=' } },
    );
    expect(cache.wrapped.slice(1)).toEqual([
      { type: 'memory', namespace: expect.stringMatching(/^main-[0-9a-f]{16}$/), ttl: 7 },
      { type: 'env', namespace: expect.stringMatching(/^glass-[0-9a-f]{16}$/), ttl: 7 },
    ]);
    expect(
      two.cacheStats().map((s) => [s.recipient, s.provider, (s.stats as { wrapped: string }).wrapped]),
    ).toEqual([
      ['main', 'memory', 'memory'],
      ['glass', 'env', 'env'],
    ]);
    await two.close();
    const bare = await createKeystore({
      provider: { type: 'memory', keys: ['app'] },
      defaultKey: 'app',
    } as never);
    expect(bare.cacheStats()).toEqual([]);
    await bare.close();
  });

  it('keep two deployments apart: another provider block is another namespace, the same block the same one', async () => {
    const cache = recordingCache();
    const build = (path: string) =>
      createKeystore(
        {
          provider: {
            type: 'memory',
            keys: ['patients'],
            ...(path === '' ? {} : { keys: ['patients', path] }),
          },
          defaultKey: 'patients',
          cache: { type: 'recording', ttlSeconds: 5 },
        } as never,
        { caches: { recording: cache.definition } },
      );
    for (const ks of [await build(''), await build(''), await build('billing')]) await ks.close();
    const [a, b, c] = cache.wrapped.map((w) => w.namespace);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('close the provider when wrapping fails, and name unknown or missing cache packages', async () => {
    const cache = recordingCache();
    let closed = false;
    const provider = {
      type: 'spy',
      parseConfig: (c: unknown) => c,
      create: async () => {
        const p = createMaterialProvider(createMemoryStore());
        return {
          ...p,
          type: 'spy',
          close: async () => {
            closed = true;
          },
        };
      },
    };
    await expect(
      createKeystore(
        { provider: { type: 'spy' }, defaultKey: 'a', cache: { type: 'recording', ttlSeconds: 0 } } as never,
        {
          caches: { recording: cache.definition },
          providers: { spy: provider as never },
        },
      ),
    ).rejects.toThrow('refused to wrap');
    expect(closed).toBe(true);
    await expect(resolveCache('memcached')).rejects.toMatchObject({
      code: 'ConfigError',
      message: "cache.type: unknown cache type 'memcached'; known types: redis",
    });
    const missing = await resolveCache('redis', {}, async () => {
      throw Object.assign(new Error("Cannot find package '@keystore/redis'"), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    }).catch((e: Error) => e.message);
    expect(missing).toMatch(
      /^cache\.type: 'redis' needs the package @keystore\/redis.*npm install @keystore\/redis/,
    );
  });

  it('a material provider names its store for a cache to build on; other providers do not', () => {
    const store = createMemoryStore();
    const provider = createMaterialProvider(store);
    expect(materialStoreOf(provider)).toBe(store);
    expect(Object.keys(provider)).not.toContain(String(Symbol.for('@keystore/core/material-store')));
    expect(materialStoreOf({ ...provider })).toBeUndefined();
  });
});
