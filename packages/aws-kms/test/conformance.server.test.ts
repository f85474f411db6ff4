import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, it } from 'vitest';
import { createAwsKmsProvider } from '../src/index.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
// KMS keys are only ever scheduled for deletion: every run gets an alias prefix of its own.
const keyPrefix = `conformance-${randomBytes(4).toString('hex')}-`;

describe.skipIf(kms.skip)('aws-kms (symmetric keys, alias per key id)', () => {
  afterAll(() => retireKeys(options, keyPrefix));

  runConformanceSuite({
    name: 'aws-kms',
    describe,
    it,
    factory: async () => ({
      provider: await createAwsKmsProvider(options),
      keyPrefix,
      // Port 9 (discard) on localhost: nothing listens there.
      unreachable: () => createAwsKmsProvider({ ...options, endpoint: 'http://127.0.0.1:9' }),
    }),
  });
});
