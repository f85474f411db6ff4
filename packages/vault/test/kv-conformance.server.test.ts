import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';
import { kvAdmin } from './fixtures/kv-admin.js';

const vault = await requireService('vault');
// A folder of its own per run: the server is shared, and afterAll removes it.
const pathPrefix = `keystore-test-${randomBytes(4).toString('hex')}/`;
const options = {
  endpoint: vault.env.VAULT_ADDR ?? '',
  auth: { method: 'token' as const, token: vault.env.VAULT_TOKEN ?? '' },
  mode: 'kv' as const,
  mount: vault.env.VAULT_KV_MOUNT ?? 'secret',
  pathPrefix,
};

describe.skipIf(vault.skip)('vault kv', () => {
  afterAll(async () => {
    await kvAdmin({ ...options, token: options.auth.token }).removeFolder(pathPrefix);
  });

  runConformanceSuite({
    name: 'vault (kv)',
    describe,
    it,
    factory: async () => ({
      provider: await createVaultProvider(options),
      // Port 9 (discard) on localhost: nothing listens there.
      unreachable: () => createVaultProvider({ ...options, endpoint: 'http://127.0.0.1:9' }),
    }),
  });
});
