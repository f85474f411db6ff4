import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardProvider, type KeyProvider } from '@keystore/core/provider';
import { freePort, type PrivateOpenBao, startPrivateOpenBao } from '@keystore/test-infra/private-openbao';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';

/**
 * Sealing is destructive: a private OpenBao of this file's own, never the shared dev server.
 * Times are measured with the default retry policy (4 attempts, 100 ms doubling, jittered
 * to [d/2, d)): 3 sleeps of 350 to 700 ms in all.
 */
const context = { table: 'patients', id: '7' };
let bao: PrivateOpenBao;

beforeAll(async () => {
  bao = await startPrivateOpenBao();
}, 60_000);
afterAll(async () => {
  await bao?.stop();
});

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

function expectNoSecret(error: unknown): void {
  const text = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
  expect(text).not.toContain(bao.rootToken);
  expect(text).not.toContain(bao.unsealKey);
}

const must = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('missing');
  return value;
};

describe('a sealed server', () => {
  it('fails calls with ProviderUnavailable after bounded retries, and the same provider works once unsealed', async () => {
    const provider: KeyProvider = guardProvider(
      await createVaultProvider({ endpoint: bao.addr, auth: { method: 'token', token: bao.rootToken } }),
      { timeoutMs: 10_000 },
    );
    const keyId = 'seal-1';
    await must(provider.createKey)(keyId);
    const { plaintext, wrapped } = await must(provider.generateDataKey)({ keyId, length: 32, context });

    await bao.seal();
    try {
      const unwrap = await timed(provider.unwrapKey({ ...wrapped, context }));
      expect(unwrap.error).toMatchObject({ code: 'ProviderUnavailable' });
      expect((unwrap.error as Error).message).toMatch(/HTTP 503.*\(4 attempts\)/);
      // 3 backoff sleeps (350-700 ms) and 4 quick 503s: bounded, far below the 10 s call timeout.
      expect(unwrap.ms).toBeGreaterThanOrEqual(340);
      expect(unwrap.ms).toBeLessThan(2_000);
      expectNoSecret(unwrap.error);

      // A write: the sealed server answered before doing anything, so nothing happened.
      const rotate = await timed(must(provider.rotateKey)(keyId));
      expect(rotate.error).toMatchObject({ code: 'ProviderUnavailable' });
      expectNoSecret(rotate.error);
    } finally {
      await bao.unseal();
    }

    expect(await provider.unwrapKey({ ...wrapped, context })).toEqual(plaintext);
    // The sealed rotation never happened (and was not done twice by the retries).
    expect((await must(provider.listVersions)(keyId)).map((v) => v.version)).toEqual([1]);
    expect((await must(provider.rotateKey)(keyId)).latestVersion).toBe(2);
    await provider.close?.();
  });

  it('a short call deadline bounds the retries: no sleep past it, measured inside the guard', async () => {
    const raw = await createVaultProvider({
      endpoint: bao.addr,
      auth: { method: 'token', token: bao.rootToken },
    });
    // The guard reports a timeout at its deadline whatever the adapter does; how long the
    // adapter's own call lasts is measured here, under the guard.
    const inner: number[] = [];
    const spied: KeyProvider = {
      ...raw,
      async listVersions(keyId) {
        const start = performance.now();
        try {
          return await must(raw.listVersions)(keyId);
        } finally {
          inner.push(performance.now() - start);
        }
      },
    };
    const provider = guardProvider(spied, { timeoutMs: 200 });
    await must(provider.createKey)('seal-2');
    await bao.seal();
    try {
      for (let i = 0; i < 5; i++) {
        const { error, ms } = await timed(must(provider.listVersions)('seal-2'));
        expect(error).toMatchObject({ code: 'ProviderUnavailable' });
        expect(ms).toBeLessThan(400);
        expectNoSecret(error);
      }
      await sleep(50); // the last inner call settles
      expect(inner).toHaveLength(5);
      // The guard keeps 20 ms of its 200 for a commit: the adapter gives up by 180 ms and some slack.
      for (const ms of inner) expect(ms).toBeLessThan(250);
    } finally {
      await bao.unseal();
    }
    expect(await must(provider.listVersions)('seal-2')).toHaveLength(1);
    await provider.close?.();
  });

  it('a call retrying while the server is unsealed succeeds', async () => {
    const provider = guardProvider(
      await createVaultProvider({
        endpoint: bao.addr,
        auth: { method: 'token', token: bao.rootToken },
        retry: { attempts: 30, baseDelayMs: 100, maxDelayMs: 200, minAttemptMs: 50 },
      }),
      { timeoutMs: 15_000 },
    );
    await must(provider.createKey)('seal-3');
    await bao.seal();
    const pending = timed(must(provider.listVersions)('seal-3'));
    await sleep(300);
    await bao.unseal();
    const { error, ms } = await pending;
    expect(error).toBeUndefined();
    expect(ms).toBeGreaterThanOrEqual(300);
    await provider.close?.();
  });

  it('a refused connection: ProviderUnavailable after the same bounded retries', async () => {
    const port = await freePort(); // nothing listens there
    const provider = guardProvider(
      await createVaultProvider({
        endpoint: `http://127.0.0.1:${port}`,
        auth: { method: 'token', token: bao.rootToken },
      }),
      { timeoutMs: 10_000 },
    );
    const { error, ms } = await timed(must(provider.listVersions)('any'));
    expect(error).toMatchObject({ code: 'ProviderUnavailable' });
    expect((error as Error).message).toMatch(/connection refused.*\(4 attempts\)/);
    expect(ms).toBeGreaterThanOrEqual(340);
    expect(ms).toBeLessThan(2_000);
    expectNoSecret(error);
  });
});
