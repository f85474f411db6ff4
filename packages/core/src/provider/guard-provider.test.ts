import { describe, expect, it } from 'vitest';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { guardProvider } from './guard-provider.js';
import type { KeyProvider } from './key-provider.js';

const context = {};
const dataKey = new Uint8Array(32).fill(9);

/** A provider that misbehaves in one way, built on a working one. */
async function broken(overrides: Partial<KeyProvider>): Promise<KeyProvider> {
  const base = await createMemoryProvider({ keys: ['k'] });
  return { ...base, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code: string };
  }
  throw new Error('expected a failure');
}

describe('guardProvider: the contract is enforced, not trusted', () => {
  it('refuses a provider of an unknown specification version', async () => {
    const p = await broken({ specificationVersion: 'v0' as 'v1' });
    expect(() => guardProvider(p)).toThrow(/specification v0/);
  });

  it('refuses a provider that declares a capability it does not implement', async () => {
    const p = await broken({ getKey: undefined });
    expect(() => guardProvider(p)).toThrow(/declares getKey/);
  });

  it('rejects a wrapped key without version or ciphertext', async () => {
    const g = guardProvider(
      await broken({ wrapKey: async () => ({ keyId: 'k', version: 0, ciphertext: new Uint8Array(1) }) }),
    );
    expect((await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }))).code).toBe(
      'ProviderError',
    );
    const h = guardProvider(await broken({ wrapKey: async () => ({ keyId: 'k', version: 1 }) as never }));
    expect((await failure(h.wrapKey({ keyId: 'k', plaintext: dataKey, context }))).code).toBe(
      'ProviderError',
    );
  });

  it('rejects an unwrapped data key of the wrong size', async () => {
    const g = guardProvider(await broken({ unwrapKey: async () => new Uint8Array(5) }));
    const f = await failure(g.unwrapKey({ keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context }));
    expect(f.code).toBe('ProviderError');
  });

  it('rejects a generated data key of the wrong size', async () => {
    const base = await broken({});
    const g = guardProvider({
      ...base,
      generateDataKey: async (input) => {
        const real = await base.generateDataKey?.(input);
        return { plaintext: new Uint8Array(16), wrapped: real?.wrapped as never };
      },
    });
    expect((await failure(g.generateDataKey({ keyId: 'k', length: 32, context }))).code).toBe(
      'ProviderError',
    );
  });

  it('maps foreign errors to typed ones without their message (it may hold secrets)', async () => {
    const secret = 'response body: {"key":"c2VjcmV0LWtleS1tYXRlcmlhbA"}';
    const g = guardProvider(
      await broken({
        unwrapKey: async () => {
          throw Object.assign(new Error(secret), { code: 'ECONNREFUSED' });
        },
        wrapKey: async () => {
          throw new TypeError(secret);
        },
      }),
    );
    const down = await failure(
      g.unwrapKey({ keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context }),
    );
    expect(down.code).toBe('ProviderUnavailable');
    expect(down.message).not.toContain('c2VjcmV0');
    expect(down.cause).toBeUndefined();
    const bug = await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }));
    expect(bug.code).toBe('ProviderError');
    expect(bug.message).toContain('TypeError');
    expect(bug.message).not.toContain('c2VjcmV0');
  });

  it('times out a backend that does not answer', async () => {
    const g = guardProvider(await broken({ wrapKey: () => new Promise(() => {}) }), { timeoutMs: 50 });
    const started = Date.now();
    const f = await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }));
    expect(f.code).toBe('ProviderUnavailable');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('checks inputs before they reach the adapter', async () => {
    let calls = 0;
    const g = guardProvider(
      await broken({
        wrapKey: async () => {
          calls++;
          throw new Error('unreachable');
        },
      }),
    );
    expect((await failure(g.wrapKey({ keyId: '', plaintext: dataKey, context }))).code).toBe(
      'InvalidArgument',
    );
    expect((await failure(g.wrapKey({ keyId: 'k', plaintext: new Uint8Array(3), context }))).code).toBe(
      'InvalidArgument',
    );
    expect(
      (await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context: { n: 1 } as never }))).code,
    ).toBe('InvalidArgument');
    expect(calls).toBe(0);
  });

  it('answers unsupported operations with UnsupportedOperation naming them', async () => {
    const g = guardProvider(
      await broken({ capabilities: { ...(await broken({})).capabilities, rotateKey: false } }),
    );
    const f = await failure(g.rotateKey('k'));
    expect(f.code).toBe('UnsupportedOperation');
    expect(f.message).toContain('rotateKey');
  });

  it('makes close idempotent and later calls fail with Closed', async () => {
    let closes = 0;
    const base = await broken({});
    const g = guardProvider({
      ...base,
      close: async () => {
        closes++;
      },
    });
    await Promise.all([g.close(), g.close()]);
    await g.close();
    expect(closes).toBe(1);
    expect((await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }))).code).toBe('Closed');
  });

  it('waits for calls in flight before closing the provider, and refuses new ones at once', async () => {
    const base = await broken({});
    let release: () => void = () => {};
    const gate = new Promise<void>((done) => {
      release = done;
    });
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
        closedWhileBusy = busy;
        await base.close();
      },
    });
    const inFlight = g.wrapKey({ keyId: 'k', plaintext: dataKey, context });
    await new Promise((done) => setImmediate(done));
    const closing = g.close();
    expect((await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }))).code).toBe('Closed');
    release();
    expect((await inFlight).version).toBe(1);
    await closing;
    expect(closedWhileBusy).toBe(false);
  });

  it('drops the cause of an adapter KeystoreError and refuses forged errors', async () => {
    const { KeyNotFound } = await import('../errors/keystore-error.js');
    const secret = 'token=s.SECRETTOKEN';
    const g = guardProvider(
      await broken({
        wrapKey: async () => {
          throw Object.assign(new KeyNotFound('no such key'), { cause: { body: secret } });
        },
        unwrapKey: async () => {
          throw { [Symbol.for('@keystore/core/error')]: true, code: 'InvalidToken', message: secret };
        },
      }),
    );
    const mapped = await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }));
    expect(mapped.code).toBe('KeyNotFound');
    expect(mapped.cause).toBeUndefined();
    const forged = await failure(
      g.unwrapKey({ keyId: 'k', version: 1, ciphertext: new Uint8Array(60), context }),
    );
    expect(forged).toBeInstanceOf(Error);
    expect(forged.code).toBe('ProviderError');
    expect(forged.message).not.toContain('SECRETTOKEN');
  });

  it('rejects a re-wrap to an older version and oversized wrapped keys', async () => {
    const base = await broken({});
    const g = guardProvider({
      ...base,
      capabilities: { ...base.capabilities, rewrapKey: true },
      rewrapKey: async (input) => ({ keyId: input.keyId, version: 1, ciphertext: new Uint8Array(40) }),
      wrapKey: async () => ({ keyId: 'k', version: 1, ciphertext: new Uint8Array(0x10000) }),
    });
    expect(
      (await failure(g.rewrapKey({ keyId: 'k', version: 2, ciphertext: new Uint8Array(60), context }))).code,
    ).toBe('ProviderError');
    expect((await failure(g.wrapKey({ keyId: 'k', plaintext: dataKey, context }))).code).toBe(
      'ProviderError',
    );
  });
});
