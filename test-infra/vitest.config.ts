import { defineConfig } from 'vitest/config';

// The smoke tests of test-infra itself: `pnpm infra:up`, then `pnpm --filter @keystore/test-infra test`.
export default defineConfig({
  test: {
    include: ['smoke/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
