import { ALL_CAPABILITIES } from '@keystore/core';
import { DEFAULT_TIMEOUT_MS, executeTest, probe } from './execute.js';
import { missingRequirements, skipReason } from './requirements.js';
import { conformanceTests } from './tests/index.js';
import type { ConformanceRunOptions, ConformanceTest } from './types.js';

/** The part of a test's context the suite uses (vitest's `ctx.skip`). */
export interface TestContextLike {
  skip?: (note?: string) => void;
}

/** vitest's `it` (or `test`), as far as the suite uses it. */
export interface ItLike {
  (name: string, fn: (context: TestContextLike) => Promise<void>, timeout?: number): unknown;
  skip(name: string, fn: () => void): unknown;
}

/** vitest's `describe`; its callback may be async (vitest awaits it while collecting). */
export type DescribeLike = (name: string, fn: () => Promise<void>) => unknown;

export interface ConformanceSuiteOptions extends ConformanceRunOptions {
  /** The provider's name in test titles. */
  readonly name: string;
  readonly describe: DescribeLike;
  readonly it: ItLike;
}

function title(test: ConformanceTest): string {
  return `${test.group}: ${test.name}`;
}

/**
 * Registers the suite with a test framework (vitest): one `describe` with one
 * `it` per test. Tests the provider cannot take (a capability it lacks, no
 * unreachable backend for an embedded provider) are registered as skipped
 * with the reason in their title, and a last test logs them on one line.
 * Each test gets a fresh fixture from `factory`.
 *
 * While collecting, one fixture is made to read the provider's capabilities.
 */
export function runConformanceSuite(options: ConformanceSuiteOptions): void {
  const { describe, it, factory } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tests = conformanceTests.filter((test) => options.filter?.(test) ?? true);

  describe(`conformance: ${options.name}`, async () => {
    const profile = await probe(factory, timeoutMs);
    const skipped: string[] = [];
    for (const test of tests) {
      const missing = missingRequirements(test, profile);
      if (missing.length > 0) {
        const reason = skipReason(missing);
        skipped.push(`${title(test)} (${reason})`);
        it.skip(`${title(test)} [skipped: ${reason}]`, () => {});
        continue;
      }
      it(
        title(test),
        async (context) => {
          const result = await executeTest(test, factory, timeoutMs);
          if (result.status === 'failed') {
            throw result.error instanceof Error ? result.error : new Error(result.reason);
          }
          if (result.status === 'skipped') {
            skipped.push(`${title(test)} (${result.reason})`);
            context?.skip?.(result.reason);
          }
        },
        // Bounds of its own for the factory, the test and closing, plus a margin.
        timeoutMs * 3 + 5_000,
      );
    }
    it('reports unsupported capabilities', async () => {
      const unsupported = ALL_CAPABILITIES.filter((c) => !profile.capabilities[c]);
      console.info(
        `[conformance] ${options.name} (${profile.type}): unsupported capabilities: ${unsupported.join(', ') || 'none'}; ` +
          `${skipped.length} skipped${skipped.length === 0 ? '' : `: ${skipped.join('; ')}`}`,
      );
    });
  });
}
