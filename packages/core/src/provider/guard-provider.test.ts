import { afterAll, describe, expect, it } from 'vitest';
import { KeyNotFound } from '../errors/keystore-error.js';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { GUARD_CHECKS, type GuardCheck } from './guard-checks.js';
import { guardProvider } from './guard-provider.js';
import type { KeyProvider } from './key-provider.js';

const context = {};
const dataKey = new Uint8Array(32).fill(9);
const wrappedInput = { keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context };

/** A provider that misbehaves in one way, built on a working one. */
async function broken(overrides: Partial<KeyProvider>): Promise<KeyProvider> {
  const base = await createMemoryProvider({ keys: ['k'] });
  return { ...base, ...overrides };
}

/** A test named after the check it covers; afterAll asserts that every check has one. */
const covered = new Set<GuardCheck>();
function check(label: GuardCheck, run: () => Promise<void>): void {
  covered.add(label);
  it(GUARD_CHECKS[label], run);
}

describe('guardProvider: the contract is enforced, not trusted', () => {
  afterAll(() => {
    const missing = (Object.keys(GUARD_CHECKS) as GuardCheck[]).filter((c) => !covered.has(c));
    expect(missing, 'guard checks without a test').toEqual([]);
  });

  check('specification', async () => {
    const p = await broken({ specificationVersion: 'v0' as 'v1' });
    expect(() => guardProvider(p)).toThrow(/specification v0/);
    expect(() => guardProvider(null as unknown as KeyProvider)).toThrow(/must be an object/);
  });

  check('providerType', async () => {
    for (const type of ['', 'Vault', 'a b', '1kms', 'x'.repeat(33)]) {
      const p = await broken({ type });
      expect(() => guardProvider(p), type).toThrow(/lower-case letters/);
    }
  });

  check('declaredMethods', async () => {
    const base = await broken({});
    expect(() => guardProvider({ ...base, getKey: undefined })).toThrow(/declares getKey/);
    // Capabilities with a core fallback are no exception: declaring one promises its method.
    for (const capability of ['generateDataKey', 'rewrapKey'] as const) {
      const p = {
        ...base,
        capabilities: { ...base.capabilities, [capability]: true },
        [capability]: undefined,
      };
      expect(() => guardProvider(p), capability).toThrow(new RegExp(`declares ${capability}`));
    }
    const batch = {
      ...base,
      capabilities: { ...base.capabilities, batch: true },
      unwrapKeys: async () => [],
    };
    expect(() => guardProvider(batch)).toThrow(/declares batch but does not implement rewrapKeys/);
  });

  check('keyIdIn', async () => {
    let calls = 0;
    const g = guardProvider(
      await broken({
        wrapKey: async () => {
          calls++;
          throw new Error('unreachable');
        },
      }),
    );
    await expect(g.wrapKey({ keyId: '', plaintext: dataKey, context })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(g.getKey('a key')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(g.rotateKey(42 as unknown as string)).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(calls).toBe(0);
  });

  check('versionIn', async () => {
    const g = guardProvider(await broken({}));
    for (const version of [0, -1, 1.5, Number.NaN, '1' as unknown as number]) {
      await expect(g.unwrapKey({ ...wrappedInput, version }), String(version)).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
      await expect(g.getKey('k', version), String(version)).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
    }
  });

  check('dataKeyIn', async () => {
    const g = guardProvider(await broken({}));
    await expect(g.wrapKey({ keyId: 'k', plaintext: new Uint8Array(3), context })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(g.generateDataKey({ keyId: 'k', length: 65, context })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(
      g.wrapKey({ keyId: 'k', plaintext: dataKey, context: { n: 1 } as never }),
      'a context value that is not a string',
    ).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  check('wrappedIn', async () => {
    const g = guardProvider(await broken({}));
    await expect(g.unwrapKey({ ...wrappedInput, ciphertext: new Uint8Array(0) })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(g.rewrapKey({ ...wrappedInput, ciphertext: 'abc' as never })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(g.unwrapKeys([{ ...wrappedInput, keyId: '' }])).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  check('materialIn', async () => {
    const g = guardProvider(await broken({}));
    await expect(g.importKey('new', new Uint8Array(31))).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(g.importKey('new', 'x'.repeat(32) as never)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  check('wrappedOut', async () => {
    const malformed = [
      { keyId: 'k', version: 0, ciphertext: new Uint8Array(1) },
      { keyId: 'k', version: 1 },
      { keyId: '', version: 1, ciphertext: new Uint8Array(1) },
      { keyId: 'k', version: 1, ciphertext: new Uint8Array(0x10000) },
    ];
    for (const out of malformed) {
      const g = guardProvider(await broken({ wrapKey: async () => out as never }));
      await expect(
        g.wrapKey({ keyId: 'k', plaintext: dataKey, context }),
        JSON.stringify(out),
      ).rejects.toMatchObject({ code: 'ProviderError' });
    }
  });

  check('rewrappedOut', async () => {
    const base = await broken({});
    const g = guardProvider({
      ...base,
      capabilities: { ...base.capabilities, rewrapKey: true },
      rewrapKey: async (input) => ({ keyId: input.keyId, version: 1, ciphertext: new Uint8Array(40) }),
    });
    await expect(g.rewrapKey({ ...wrappedInput, version: 2 })).rejects.toMatchObject({
      code: 'ProviderError',
    });
  });

  check('dataKeyOut', async () => {
    const g = guardProvider(await broken({ unwrapKey: async () => new Uint8Array(5) }));
    await expect(g.unwrapKey(wrappedInput)).rejects.toMatchObject({ code: 'ProviderError' });
    const base = await broken({});
    const h = guardProvider({
      ...base,
      generateDataKey: async (input) => {
        const real = await base.generateDataKey?.(input);
        return { plaintext: new Uint8Array(16), wrapped: real?.wrapped as never };
      },
    });
    await expect(h.generateDataKey({ keyId: 'k', length: 32, context })).rejects.toMatchObject({
      code: 'ProviderError',
    });
    // The caller's own copy; the provider's buffer is zeroed once copied, so no second copy stays.
    const theirs = new Uint8Array(32).fill(7);
    const i = guardProvider(await broken({ unwrapKey: async () => theirs }));
    const ours = await i.unwrapKey(wrappedInput);
    expect(ours).not.toBe(theirs);
    expect(ours.every((b) => b === 7)).toBe(true);
    expect(theirs.every((b) => b === 0)).toBe(true);
  });

  check('materialOut', async () => {
    const material = new Uint8Array(32);
    const answers = [
      { keyId: 'k', version: 1, material: new Uint8Array(16) },
      { keyId: 'k', version: 0, material },
      { keyId: 'k', version: 3, material },
    ];
    for (const out of answers) {
      const g = guardProvider(await broken({ getKey: async () => out }));
      await expect(g.getKey('k', 2), `version ${out.version}`).rejects.toMatchObject({
        code: 'ProviderError',
      });
    }
  });

  check('metadataOut', async () => {
    const answers = [
      { keyId: 'other', latestVersion: 1 },
      { keyId: 'k', latestVersion: 0 },
      { keyId: 'k' },
      { keyId: 'k', latestVersion: 1, createdAt: 5 },
    ];
    for (const out of answers) {
      const g = guardProvider(
        await broken({ rotateKey: async () => out as never, createKey: async () => out as never }),
      );
      await expect(g.rotateKey('k'), JSON.stringify(out)).rejects.toMatchObject({ code: 'ProviderError' });
      await expect(g.createKey('k'), JSON.stringify(out)).rejects.toMatchObject({ code: 'ProviderError' });
    }
  });

  check('versioning', async () => {
    const base = await broken({});
    expect(guardProvider(base).versioning).toBe('numbered');
    expect(guardProvider({ ...base, versioning: 'in-place' }).versioning).toBe('in-place');
    for (const versioning of ['inplace', 'Numbered', '', 2, null]) {
      const p = { ...base, versioning: versioning as never };
      expect(() => guardProvider(p), String(versioning)).toThrow(/neither 'numbered' nor 'in-place'/);
    }
  });

  check('rotatedOut', async () => {
    // Numbered: a rotation that answers version 1 added no version.
    const numbered = guardProvider(
      await broken({ rotateKey: async (keyId) => ({ keyId, latestVersion: 1 }) }),
    );
    await expect(numbered.rotateKey('k')).rejects.toMatchObject({ code: 'ProviderError' });
    expect((await guardProvider(await broken({})).rotateKey('k')).latestVersion).toBe(2);
    // In place: the constant version, never a growing one.
    const inPlace = (latestVersion: number) =>
      broken({ versioning: 'in-place', rotateKey: async (keyId) => ({ keyId, latestVersion }) });
    await expect(guardProvider(await inPlace(2)).rotateKey('k')).rejects.toMatchObject({
      code: 'ProviderError',
    });
    expect((await guardProvider(await inPlace(1)).rotateKey('k')).latestVersion).toBe(1);
  });

  check('inPlaceOut', async () => {
    const base = await broken({});
    await base.rotateKey?.('k'); // the memory key wraps under version 2 now
    const inPlace = guardProvider({ ...base, versioning: 'in-place' });
    await expect(inPlace.wrapKey({ keyId: 'k', plaintext: dataKey, context })).rejects.toMatchObject({
      code: 'ProviderError',
    });
    await expect(inPlace.generateDataKey({ keyId: 'k', length: 32, context })).rejects.toMatchObject({
      code: 'ProviderError',
    });
    const rewrapping = guardProvider({
      ...base,
      versioning: 'in-place',
      capabilities: { ...base.capabilities, rewrapKey: true },
      rewrapKey: async (input) => ({ keyId: input.keyId, version: 2, ciphertext: new Uint8Array(40) }),
    });
    await expect(rewrapping.rewrapKey(wrappedInput)).rejects.toMatchObject({ code: 'ProviderError' });
    await expect(rewrapping.rewrapKeys([wrappedInput])).resolves.toMatchObject([{ code: 'ProviderError' }]);
    // The same provider, numbered: version 2 is its newest, and fine.
    const numbered = guardProvider(base);
    expect((await numbered.wrapKey({ keyId: 'k', plaintext: dataKey, context })).version).toBe(2);
  });

  check('listOut', async () => {
    for (const out of [undefined, {}, [{ keyId: 'k' }]]) {
      const g = guardProvider(await broken({ listKeys: async () => out as never }));
      await expect(g.listKeys(), JSON.stringify(out)).rejects.toMatchObject({ code: 'ProviderError' });
    }
  });

  check('versionsOut', async () => {
    const answers = [
      null,
      [{ version: 1, createdAt: 'x', state: 'gone' }],
      [{ version: 0, createdAt: 'x', state: 'enabled' }],
    ];
    for (const out of answers) {
      const g = guardProvider(await broken({ listVersions: async () => out as never }));
      await expect(g.listVersions('k'), JSON.stringify(out)).rejects.toMatchObject({ code: 'ProviderError' });
    }
  });

  check('batchOut', async () => {
    const base = await broken({});
    const unwrapped = new Uint8Array(32).fill(1);
    const g = guardProvider({
      ...base,
      capabilities: { ...base.capabilities, batch: true },
      unwrapKeys: async () => [unwrapped],
      rewrapKeys: async (inputs) => inputs.map(() => new KeyNotFound('gone')),
    });
    await expect(g.unwrapKeys([wrappedInput, wrappedInput])).rejects.toMatchObject({ code: 'ProviderError' });
    expect(
      unwrapped.every((b) => b === 0),
      'the answer of a refused batch is zeroed',
    ).toBe(true);
    const slots = await g.rewrapKeys([wrappedInput, wrappedInput]);
    expect(slots.map((s) => (s as KeyNotFound).code)).toEqual(['KeyNotFound', 'KeyNotFound']);
  });

  check('errors', async () => {
    const secret = 'response body: {"key":"c2VjcmV0LWtleS1tYXRlcmlhbA"}';
    const g = guardProvider(
      await broken({
        unwrapKey: async () => {
          throw Object.assign(new Error(secret), { code: 'ECONNREFUSED' });
        },
        wrapKey: async () => {
          throw new TypeError(secret);
        },
        rotateKey: async () => {
          throw Object.assign(new KeyNotFound('no such key'), { cause: { body: secret } });
        },
        getKey: async () => {
          throw { [Symbol.for('@keystore/core/error')]: true, code: 'InvalidToken', message: secret };
        },
      }),
    );
    const down = await g.unwrapKey(wrappedInput).catch((e: Error & { code: string }) => e);
    expect(down).toMatchObject({ code: 'ProviderUnavailable' });
    expect((down as Error).cause).toBeUndefined();
    expect((down as Error).message).not.toContain('c2VjcmV0');
    const bug = await g.wrapKey({ keyId: 'k', plaintext: dataKey, context }).catch((e: Error) => e);
    expect(bug).toMatchObject({ code: 'ProviderError', message: expect.stringContaining('TypeError') });
    expect((bug as Error).message).not.toContain('c2VjcmV0');
    const mapped = await g.rotateKey('k').catch((e: Error) => e);
    expect(mapped).toMatchObject({ code: 'KeyNotFound' });
    expect((mapped as Error).cause).toBeUndefined();
    const forged = await g.getKey('k').catch((e: Error) => e);
    expect(forged).toBeInstanceOf(Error);
    expect(forged).toMatchObject({ code: 'ProviderError' });
    expect((forged as Error).message).not.toContain('c2VjcmV0');
  });

  check('deadline', async () => {
    const g = guardProvider(await broken({ wrapKey: () => new Promise(() => {}) }), { timeoutMs: 50 });
    const started = Date.now();
    await expect(g.wrapKey({ keyId: 'k', plaintext: dataKey, context })).rejects.toMatchObject({
      code: 'ProviderUnavailable',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  check('unsupported', async () => {
    const base = await broken({});
    const g = guardProvider({ ...base, capabilities: { ...base.capabilities, rotateKey: false } });
    const f = await g.rotateKey('k').catch((e: Error) => e);
    expect(f).toMatchObject({ code: 'UnsupportedOperation', message: expect.stringContaining('rotateKey') });
  });

  check('closed', async () => {
    const base = await broken({});
    let release: () => void = () => {};
    const gate = new Promise<void>((done) => {
      release = done;
    });
    let closes = 0;
    let closedWhileBusy = false;
    let busy = false;
    const g = guardProvider({
      ...base,
      wrapKey: async (input) => {
        busy = true;
        await gate;
        busy = false;
        return base.wrapKey(input);
      },
      close: async () => {
        closes++;
        closedWhileBusy = busy;
        await base.close();
      },
    });
    const inFlight = g.wrapKey({ keyId: 'k', plaintext: dataKey, context });
    await new Promise((done) => setImmediate(done));
    const closing = g.close();
    await expect(g.wrapKey({ keyId: 'k', plaintext: dataKey, context })).rejects.toMatchObject({
      code: 'Closed',
    });
    release();
    expect((await inFlight).version).toBe(1);
    await Promise.all([closing, g.close()]);
    await g.close();
    expect(closedWhileBusy).toBe(false);
    expect(closes).toBe(1);
  });
});

describe('guardProvider: adapters that break the async contract', () => {
  it('maps a synchronous throw and checks a synchronous answer like any other', async () => {
    const secret = 'sk-live-SECRET';
    const g = guardProvider(
      await broken({
        wrapKey: (() => {
          throw new Error(secret);
        }) as never,
        unwrapKey: (() => new Uint8Array(5)) as never,
      }),
    );
    const thrown = await g.wrapKey({ keyId: 'k', plaintext: dataKey, context }).catch((e: Error) => e);
    expect(thrown).toMatchObject({ code: 'ProviderError' });
    expect((thrown as Error).message).not.toContain('SECRET');
    await expect(g.unwrapKey(wrappedInput)).rejects.toMatchObject({ code: 'ProviderError' });
  });
});

describe('guardProvider: found in review', () => {
  it('close does not wait on a backend call that never answers: only until its timeout', async () => {
    const g = guardProvider(await broken({ wrapKey: () => new Promise(() => {}) }), { timeoutMs: 40 });
    const call = g
      .wrapKey({ keyId: 'k', plaintext: dataKey, context })
      .catch((e: Error & { code: string }) => e.code);
    await new Promise((done) => setTimeout(done, 5));
    const started = Date.now();
    await g.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await call).toBe('ProviderUnavailable');
  }, 5_000);

  it('a close the adapter starts from its own call waits for that call', async () => {
    const base = await broken({});
    let closedDuringCall = false;
    let inCall = false;
    let guarded: ReturnType<typeof guardProvider> | undefined;
    const g = guardProvider({
      ...base,
      wrapKey: (input) => {
        inCall = true;
        void guarded?.close();
        const out = base.wrapKey(input);
        return out.finally(() => {
          inCall = false;
        });
      },
      close: async () => {
        closedDuringCall = inCall;
        await base.close();
      },
    });
    guarded = g;
    await g.wrapKey({ keyId: 'k', plaintext: dataKey, context });
    await g.close();
    expect(closedDuringCall).toBe(false);
  });
});
