import { defineConfig } from 'vitest/config';

// test-infra's own tests: `pnpm --filter @keystore/test-infra test`. The global setup starts the
// servers the smoke tests need (and stops them after) unless they are up already.
export default defineConfig({
  test: {
    include: ['smoke/**/*.test.ts'],
    globalSetup: ['vitest/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
