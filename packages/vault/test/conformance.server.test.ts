import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';

const vault = await requireService('vault');
const options = {
  endpoint: vault.env.VAULT_ADDR ?? '',
  auth: { method: 'token', token: vault.env.VAULT_TOKEN ?? '' },
  mount: vault.env.VAULT_TRANSIT_MOUNT ?? 'transit',
} as const;
// Transit keys cannot be deleted by the provider: every run gets a prefix of its own.
const keyPrefix = `conformance-${randomBytes(4).toString('hex')}-`;

describe.skipIf(vault.skip)('vault transit', () => {
  runConformanceSuite({
    name: 'vault (transit)',
    describe,
    it,
    factory: async () => ({
      provider: await createVaultProvider(options),
      keyPrefix,
      // Port 9 (discard) on localhost: nothing listens there.
      unreachable: () => createVaultProvider({ ...options, endpoint: 'http://127.0.0.1:9' }),
    }),
  });
});
