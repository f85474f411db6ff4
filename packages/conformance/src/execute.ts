import { ConformanceSkip, describeError } from './assert.js';
import { createContext, type DisposableContext } from './context.js';
import { type FixtureProfile, missingRequirements, profileOf, skipReason } from './requirements.js';
import type { ConformanceFactory, ConformanceFixture, ConformanceResult, ConformanceTest } from './types.js';

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Rejects with a clear error when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Calls the factory, with a bound on how long it may take. */
export async function makeFixture(
  factory: ConformanceFactory,
  timeoutMs: number,
): Promise<ConformanceFixture> {
  const fixture = await withTimeout(Promise.resolve().then(factory), timeoutMs, 'the fixture factory');
  if (fixture === null || typeof fixture !== 'object' || fixture.provider === undefined) {
    throw new Error('the fixture factory must return { provider, ... }');
  }
  return fixture;
}

/** Makes one fixture to learn what the provider offers, then closes it. */
export async function probe(factory: ConformanceFactory, timeoutMs: number): Promise<FixtureProfile> {
  const fixture = await makeFixture(factory, timeoutMs);
  try {
    return profileOf(fixture);
  } finally {
    try {
      await withTimeout(
        Promise.resolve().then(() => fixture.provider.close()),
        timeoutMs,
        'close',
      );
      await fixture.cleanup?.();
    } catch {
      // Closing the probe is not under test.
    }
  }
}

/**
 * Runs one test against a fresh fixture: skipped when the fixture lacks what
 * the test requires, failed with the thrown error, passed otherwise. Never
 * throws.
 */
export async function executeTest(
  test: ConformanceTest,
  factory: ConformanceFactory,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ConformanceResult> {
  const started = performance.now();
  const result = (
    status: ConformanceResult['status'],
    reason?: string,
    error?: unknown,
  ): ConformanceResult => ({
    name: test.name,
    group: test.group,
    requires: test.requires,
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(error === undefined ? {} : { error }),
    durationMs: Math.round(performance.now() - started),
  });

  let fixture: ConformanceFixture;
  try {
    fixture = await makeFixture(factory, timeoutMs);
  } catch (error) {
    return result('failed', `the fixture factory failed: ${describeError(error)}`, error);
  }

  const missing = missingRequirements(test, profileOf(fixture));
  let ctx: DisposableContext | undefined;
  let outcome: ConformanceResult;
  try {
    if (missing.length > 0) {
      outcome = result('skipped', skipReason(missing));
    } else {
      ctx = createContext(fixture);
      const context = ctx;
      await withTimeout(
        Promise.resolve().then(() => test.run(context)),
        timeoutMs,
        `the test '${test.name}'`,
      );
      outcome = result('passed');
    }
  } catch (error) {
    outcome =
      error instanceof ConformanceSkip
        ? result('skipped', error.reason)
        : result('failed', describeError(error), error);
  }

  try {
    if (ctx !== undefined) {
      await withTimeout(ctx.dispose(), timeoutMs, 'closing the fixture');
    } else {
      await withTimeout(
        Promise.resolve().then(async () => {
          await fixture.provider.close();
          await fixture.cleanup?.();
        }),
        timeoutMs,
        'closing the fixture',
      );
    }
  } catch (error) {
    if (outcome.status !== 'failed') outcome = result('failed', describeError(error), error);
  }
  return outcome;
}
