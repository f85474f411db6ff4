import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderUnavailable } from '@keystore/core/provider';
import { apiError, VaultTransportError } from '../errors.js';

/**
 * Bounded retries with jittered exponential backoff, for the failures after
 * which Vault certainly did not process the request:
 * - the connection was refused (not one byte was sent);
 * - 503 from a sealed server (measured on OpenBao 2.7.2: every request, read
 *   or write, answers `503 {"errors":["Vault is sealed"]}`) or from a standby
 *   that cannot reach an active node; for a write only when Vault's own
 *   message says so, as a proxy's 503 may come after it forwarded the request;
 * - 429 (a rate-limit quota refuses the request before handling it; 429 and
 *   473 are also sys/health's codes for standby and performance standby).
 *
 * Never retried: a timeout or a reset (the request may have landed), a 500
 * (OpenBao's concurrent-rotate 500 can still have rotated: errors.ts), 502
 * and 504 (a proxy that may have forwarded), and every other answer.
 *
 * All of it within the call's time: no sleep ends past the deadline, and no
 * attempt starts with less than `minAttemptMs` left.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each one after, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** An attempt is not started with less time than this left. */
  readonly minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  minAttemptMs: 50,
});

/** Injected by the unit tests; the real ones otherwise. */
export interface RetryClock {
  sleep(ms: number): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

const realClock: RetryClock = { sleep: (ms) => sleep(ms), random: Math.random };

const READS = new Set(['GET', 'LIST', 'HEAD']);
/** Vault's words for "sealed" and "no active node here" (OpenBao and HashiCorp Vault). */
const NOT_PROCESSED_503 = [/\bsealed\b/i, /standby/i, /\bnot active\b/i, /active (?:cluster )?node/i];

/** Whether `error` certainly left Vault unchanged, so that `method` may be sent again. */
export function isRetryable(error: unknown, method: string): boolean {
  if (error instanceof VaultTransportError) return error.reason === 'refused';
  const api = apiError(error);
  if (api === undefined) return false;
  if (api.statusCode === 429 || api.statusCode === 473) return true;
  if (api.statusCode !== 503) return false;
  return (
    READS.has(method.toUpperCase()) ||
    api.messages.some((m) => NOT_PROCESSED_503.some((pattern) => pattern.test(m)))
  );
}

/** The delay before attempt `attempt + 1`: exponential, capped, with jitter in [d/2, d). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}

export interface RetryOptions<E> {
  /** Time left for the whole call, read before each attempt and sleep. */
  readonly timeLeftMs: () => number;
  readonly retryable: (error: unknown) => boolean;
  /** Turns the last failure into the error thrown. */
  readonly mapError: (error: unknown) => E;
  readonly policy?: RetryPolicy;
  readonly clock?: RetryClock;
}

/**
 * Runs `attempt(timeoutMs)` until it succeeds, fails in a way that is not
 * retryable, or the attempts or the time run out. A ProviderUnavailable after
 * more than one attempt says how many there were.
 */
export async function withRetry<T, E extends Error>(
  attempt: (timeoutMs: number) => Promise<T>,
  options: RetryOptions<E>,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? realClock;
  for (let n = 1; ; n++) {
    try {
      return await attempt(options.timeLeftMs());
    } catch (error) {
      const last = () => {
        const mapped = options.mapError(error);
        return n > 1 && mapped instanceof ProviderUnavailable
          ? new ProviderUnavailable(`${mapped.message} (${n} attempts)`)
          : mapped;
      };
      if (n >= policy.attempts || !options.retryable(error)) throw last();
      const delay = backoffMs(n, policy, clock.random);
      if (options.timeLeftMs() - delay < policy.minAttemptMs) throw last();
      await clock.sleep(delay);
      // The guard may have ended the call during the sleep (callTimeLeftMs() is then 0).
      if (options.timeLeftMs() < policy.minAttemptMs) throw last();
    }
  }
}
