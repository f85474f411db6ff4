export { ConformanceFailure, ConformanceSkip } from './assert.js';
export { DEFAULT_KEY_PREFIX } from './context.js';
export { DEFAULT_TIMEOUT_MS } from './execute.js';
export {
  formatConformanceReport,
  type RequirementSummary,
  summarizeByRequirement,
} from './format-report.js';
export { type RunConformanceOptions, runConformance } from './run-conformance.js';
export {
  type ConformanceSuiteOptions,
  type DescribeLike,
  type ItLike,
  runConformanceSuite,
  type TestContextLike,
} from './run-conformance-suite.js';
export { conformanceTests } from './tests/index.js';
export type {
  BulkItemLike,
  BulkResultLike,
  ConformanceContext,
  ConformanceFactory,
  ConformanceFixture,
  ConformanceGroup,
  ConformanceReport,
  ConformanceResult,
  ConformanceRunOptions,
  ConformanceStatus,
  ConformanceTest,
  EnvelopeInfoLike,
  KeystoreLike,
  Requirement,
} from './types.js';
