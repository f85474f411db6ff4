import { configDefaults, defineConfig } from 'vitest/config';

// Where test files live. Two projects split them by name:
// - unit: every *.test.ts but *.server.test.ts. No servers; CI runs it on every Node version.
// - servers: *.server.test.ts, the tests that talk to real servers (test-infra/vitest/services.ts).
//   Its global setup starts the servers that are not up yet and stops them at the end, so
//   `pnpm test` runs everything on a fresh machine; CI runs it once, on the newest Node.
// A new adapter's tests need no CI change: name the ones that need a server *.server.test.ts.
const roots = ['packages/*/src/**/', 'packages/*/test/**/', 'examples/**/', 'test-infra/smoke/**/'];
const SERVER_TESTS = '*.server.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: roots.map((root) => `${root}*.test.ts`),
          exclude: [...configDefaults.exclude, `**/${SERVER_TESTS}`],
          // requireService() refuses to run here: a test that needs a server must say so by its name.
          env: { KEYSTORE_TEST_PROJECT: 'unit' },
        },
      },
      {
        extends: true,
        test: {
          name: 'servers',
          include: roots.map((root) => `${root}${SERVER_TESTS}`),
          globalSetup: ['test-infra/vitest/global-setup.ts'],
        },
      },
    ],
  },
});
