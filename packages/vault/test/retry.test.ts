import { ProviderError, ProviderUnavailable } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import { mapVaultError, VaultTransportError } from '../src/errors.js';
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  type RetryClock,
  withRetry,
} from '../src/http/retry.js';

/** node-vault's ApiResponseError, as far as errors.ts reads it. */
function answer(statusCode: number, ...errors: string[]): Error {
  return Object.assign(new Error(errors[0] ?? `Status ${statusCode}`), {
    response: { statusCode, body: { errors } },
  });
}

const sealed = () => answer(503, 'Vault is sealed');

/** A fake monotonic clock: sleeps and attempts move it; nothing waits for real. */
function fakeTime(deadlineMs: number, random = 0.5) {
  let now = 0;
  const sleeps: number[] = [];
  const clock: RetryClock = {
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => random,
  };
  return {
    clock,
    sleeps,
    now: () => now,
    spend: (ms: number) => {
      now += ms;
    },
    timeLeftMs: () => deadlineMs - now,
  };
}

/** Runs `fails` through withRetry: each attempt takes `attemptMs` and throws the next error. */
async function run(
  method: string,
  errors: Error[],
  { deadlineMs = 10_000, attemptMs = 5, random = 0.5 } = {},
): Promise<{ attempts: number; error?: unknown; result?: string; sleeps: number[]; elapsed: number }> {
  const time = fakeTime(deadlineMs, random);
  let attempts = 0;
  try {
    const result = await withRetry(
      async () => {
        time.spend(attemptMs);
        const error = errors[attempts++];
        if (error === undefined) return 'ok';
        throw error;
      },
      {
        timeLeftMs: time.timeLeftMs,
        retryable: (e) => isRetryable(e, method),
        mapError: mapVaultError,
        clock: time.clock,
      },
    );
    return { attempts, result, sleeps: time.sleeps, elapsed: time.now() };
  } catch (error) {
    return { attempts, error, sleeps: time.sleeps, elapsed: time.now() };
  }
}

const many = (make: () => Error, n = 10) => Array.from({ length: n }, make);

describe('retry policy', () => {
  it('a sealed server: a few attempts with growing, jittered delays, then ProviderUnavailable saying so', async () => {
    const low = await run('POST', many(sealed), { random: 0 });
    expect(low.attempts).toBe(DEFAULT_RETRY_POLICY.attempts);
    expect(low.sleeps).toEqual([50, 100, 200]);
    expect(low.error).toBeInstanceOf(ProviderUnavailable);
    expect((low.error as Error).message).toMatch(/HTTP 503.*\(4 attempts\)/);

    const high = await run('POST', many(sealed), { random: 0.999 });
    expect(high.sleeps.map(Math.round)).toEqual([100, 200, 400]);
  });

  it('the delay doubles up to its cap', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, attempts: 10 };
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy, () => 0) * 2);
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('succeeds when the server comes back within the attempts', async () => {
    const outcome = await run('POST', [sealed(), sealed()]);
    expect(outcome).toMatchObject({ attempts: 3, result: 'ok' });
  });

  it('never sleeps past the deadline, and starts no attempt without time for it', async () => {
    for (const deadlineMs of [0, 40, 60, 120, 250, 400]) {
      const outcome = await run('GET', many(sealed), { deadlineMs, attemptMs: 5, random: 0.999 });
      expect(outcome.error).toBeInstanceOf(ProviderUnavailable);
      // Every sleep left at least minAttemptMs for the attempt after it.
      expect(outcome.elapsed).toBeLessThanOrEqual(
        Math.max(5, deadlineMs - DEFAULT_RETRY_POLICY.minAttemptMs + 5),
      );
    }
    const tight = await run('GET', many(sealed), { deadlineMs: 120, attemptMs: 5, random: 0.999 });
    expect(tight.attempts).toBe(1); // 100 ms of sleep would leave 15 ms: not enough
    const roomy = await run('GET', many(sealed), { deadlineMs: 400, attemptMs: 5, random: 0.999 });
    expect(roomy.attempts).toBe(3);
  });

  it('retries a refused connection, a 429 and 473, and a 503 on a read whatever its text', async () => {
    for (const [method, error] of [
      ['POST', new VaultTransportError('refused')],
      ['POST', answer(429, 'request path "transit/encrypt/k": rate limit quota exceeded')],
      ['GET', answer(473)],
      ['GET', answer(503, 'upstream connect error')],
      ['LIST', answer(503)],
      ['POST', answer(503, 'local node not active but active cluster node not found')],
    ] as const) {
      const outcome = await run(method, [error]);
      expect(outcome, `${method} ${error.message}`).toMatchObject({ attempts: 2, result: 'ok' });
    }
  });

  it('never retries what may have reached Vault: a timeout, a reset, 500 (concurrent rotate), 502, 504, a proxy 503 on a write', async () => {
    for (const [method, error, type] of [
      ['POST', new VaultTransportError('timeout'), ProviderUnavailable],
      ['GET', new VaultTransportError('timeout'), ProviderUnavailable],
      ['POST', new VaultTransportError('network'), ProviderUnavailable],
      ['POST', answer(500, 'transaction commit failed'), ProviderError],
      ['GET', answer(500), ProviderError],
      ['POST', answer(502), ProviderUnavailable],
      ['POST', answer(504), ProviderUnavailable],
      ['POST', answer(503, 'upstream connect error or disconnect/reset before headers'), ProviderUnavailable],
      ['POST', answer(400, 'invalid ciphertext'), Error],
    ] as const) {
      const outcome = await run(
        method,
        many(() => error),
      );
      expect(outcome.attempts, `${method} ${error.message}`).toBe(1);
      expect(outcome.error).toBeInstanceOf(type);
      expect(outcome.sleeps).toEqual([]);
    }
  });
});

describe('retry policy and the guard', () => {
  it('gives up when the call ended during the sleep, without another attempt', async () => {
    let left = 5_000;
    let attempts = 0;
    const error = await withRetry(
      async () => {
        attempts++;
        throw sealed();
      },
      {
        timeLeftMs: () => left,
        retryable: (e) => isRetryable(e, 'GET'),
        mapError: mapVaultError,
        clock: {
          sleep: async () => {
            left = 0; // the guard reported the call as timed out meanwhile
          },
          random: () => 0,
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(attempts).toBe(1);
  });
});
