import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';
import { kvAdmin } from './fixtures/kv-admin.js';
import { kvOptions } from './support/server.js';

const vault = await requireService('vault');
// A folder of its own per run: the server is shared, and afterAll removes it.
const pathPrefix = `keystore-test-${randomBytes(4).toString('hex')}/`;
const options = kvOptions(vault, pathPrefix);

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
