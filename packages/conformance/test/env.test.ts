import { randomBytes } from 'node:crypto';
import { createEnvProvider } from '@keystore/core';
import { describe, it } from 'vitest';
import { runConformanceSuite } from '../src/index.js';

/** Two Fernet keys, tagged with their versions, as the env provider reads several from one variable. */
const versions = () =>
  [randomBytes(32), randomBytes(32)].map((k, i) => `v${2 - i}:${k.toString('base64url')}`).join(',');

// The env provider is read-only: the suite uses two keys made here, with two versions each.
runConformanceSuite({
  name: 'env',
  describe,
  it,
  factory: async () => ({
    provider: await createEnvProvider({
      env: { KEYSTORE_KEY_APP_A: versions(), KEYSTORE_KEY_APP_B: versions() },
    }),
    existingKeys: ['app-a', 'app-b'],
  }),
});
