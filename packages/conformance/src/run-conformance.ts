import { DEFAULT_TIMEOUT_MS, executeTest, probe } from './execute.js';
import type { FixtureProfile } from './requirements.js';
import { conformanceTests } from './tests/index.js';
import type { ConformanceReport, ConformanceResult, ConformanceRunOptions } from './types.js';

export interface RunConformanceOptions extends ConformanceRunOptions {
  /** Called after each test, in order (for progress output). */
  readonly onResult?: (result: ConformanceResult) => void;
}

/**
 * Runs the suite without a test framework: every selected test, one after
 * the other, each against a fresh fixture. Failures are caught and reported,
 * never thrown.
 */
export async function runConformance(options: RunConformanceOptions): Promise<ConformanceReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tests = conformanceTests.filter((test) => options.filter?.(test) ?? true);
  let profile: FixtureProfile | undefined;
  try {
    profile = await probe(options.factory, timeoutMs);
  } catch {
    // Every test will report the factory's failure.
  }
  const results: ConformanceResult[] = [];
  for (const test of tests) {
    const result = await executeTest(test, options.factory, timeoutMs);
    results.push(result);
    options.onResult?.(result);
  }
  const count = (status: ConformanceResult['status']) => results.filter((r) => r.status === status).length;
  const failed = count('failed');
  return {
    ...(profile === undefined ? {} : { provider: profile.type, capabilities: profile.capabilities }),
    results,
    passed: count('passed'),
    failed,
    skipped: count('skipped'),
    ok: failed === 0,
    durationMs: Math.round(performance.now() - started),
  };
}
