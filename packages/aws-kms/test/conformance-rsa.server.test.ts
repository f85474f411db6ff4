import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { Keystore } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, it } from 'vitest';
import { type AwsKmsKeyProvider, createAwsKmsProvider } from '../src/index.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
const keyPrefix = `conformance-rsa-${randomBytes(4).toString('hex')}-`;

/**
 * The provider as it is, except that the keys the suite creates are RSA_2048 encryption keys,
 * and without rotation: KMS rotates no RSA key material (RotateKeyOnDemand is for symmetric
 * keys, and the provider says so with UnsupportedOperation), so the suite's rotation tests do
 * not apply to a provider whose keys are all RSA keys.
 */
function rsaKeys(provider: AwsKmsKeyProvider): AwsKmsKeyProvider {
  return {
    ...provider,
    capabilities: { ...provider.capabilities, rotateKey: false },
    createKey: (keyId, opts) => provider.createKey(keyId, { ...opts, keySpec: 'RSA_2048' }),
  };
}

describe.skipIf(kms.skip)('aws-kms (RSA_2048 keys, RSAES_OAEP_SHA_256, alias per key id)', () => {
  afterAll(() => retireKeys(options, keyPrefix));

  runConformanceSuite({
    name: 'aws-kms-rsa',
    describe,
    it,
    factory: async () => ({
      provider: rsaKeys(await createAwsKmsProvider(options)),
      keyPrefix,
      // LocalStack 4.9.2 takes about 100 ms per RSA Decrypt (6 ms per symmetric one), measured: the
      // 300 parallel decrypts of the concurrency test need about 20 s there, past the default 15 s per call.
      keystore: (provider) => new Keystore({ provider, allowedKeys: '*', timeoutMs: 60_000 }),
      unreachable: async () =>
        rsaKeys(await createAwsKmsProvider({ ...options, endpoint: 'http://127.0.0.1:9' })),
    }),
  });
});
