// The KMS case: @keystore/aws-kms against a real KMS (LocalStack from test-infra, or the endpoint
// in KMS_ENDPOINT), beside the AWS Encryption SDK (@aws-crypto/client-node) with its KMS keyring
// on the same endpoint and key, and the two bare KMS calls an envelope needs.

import { randomBytes } from 'node:crypto';
import { infraEnv } from '../lib/infra-env.mjs';
import { keystoreContender } from '../lib/keystore-contender.mjs';
import { check, payloadBytes, sameBytes } from '../lib/payload.mjs';
import { asyncRunner } from '../lib/timing.mjs';

const CONTEXT = { table: 'patients', id: '4711' };

/**
 * The server: KMS_ENDPOINT (with AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) from the
 * environment, else from test-infra/.env.test (written by `pnpm infra:up kms`); the reason to
 * skip when neither names one. An endpoint is required: this never runs against AWS by accident.
 */
export function kmsServer(root) {
  const env = infraEnv(root, 'KMS_ENDPOINT');
  if (!env.KMS_ENDPOINT) {
    return {
      skip: 'KMS_ENDPOINT is not set and test-infra/.env.test names no server (`pnpm infra:up kms` starts one)',
    };
  }
  return {
    endpoint: env.KMS_ENDPOINT,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  };
}

/** Our provider's client configuration, given to every client here alike. */
const clientConfig = (server) => ({
  region: server.region,
  endpoint: server.endpoint,
  credentials: { ...server.credentials },
  maxAttempts: 3,
});

/** Whether every entry of `expected` is in `got` (the check the Encryption SDK's examples tell its caller to make). */
const contextHolds = (got, expected) => Object.entries(expected).every(([k, v]) => got[k] === v);

/**
 * Round trip contenders on one fresh KMS key (made through our provider, alias `bench-<hex>`,
 * named by its key ARN everywhere so that every contender asks KMS the same way):
 * - ours: `Keystore` over `createAwsKmsProvider`, encrypt then decrypt of 1 KiB with a context
 *   (one GenerateDataKey, one Decrypt; DescribeKey cached);
 * - the AWS Encryption SDK's `encrypt` and `decrypt` with a `KmsKeyringNode` on the same key and
 *   endpoint, the same context, with its default suite and with its committing unsigned suite,
 *   each followed by the context check its examples prescribe (its decrypt takes no expected
 *   context);
 * - the reference: GenerateDataKey then Decrypt with the SDK client, nothing else.
 * Every client is the bench's @aws-sdk/client-kms (one version for all), same endpoint,
 * region, credentials and maxAttempts.
 */
export async function kmsRoundTripContenders({ core, awsKms, esdk, clientKms, server, versions }) {
  const { Keystore, InvalidToken } = core;
  const keyId = `bench-${randomBytes(4).toString('hex')}`;
  const admin = await awsKms.createAwsKmsProvider(clientConfig(server));
  await admin.createKey(keyId, {
    description: 'keystore bench (kms case), deletion scheduled after the run',
  });
  const { arn } = await admin.describeKey(keyId);
  if (typeof arn !== 'string') throw new Error('describeKey gave no ARN');

  const provider = await awsKms.createAwsKmsProvider({ ...clientConfig(server), keys: { patients: arn } });
  const keystore = new Keystore({ provider, defaultKey: 'patients' });

  const { KmsKeyringNode, buildClient, getClient, cacheClients, CommitmentPolicy, AlgorithmSuiteIdentifier } =
    esdk;
  // Its default client provider, cacheKmsClients, is cacheClients(getClient(KMS, {...})): the same
  // with our configuration (the docs' way of giving it an endpoint and credentials).
  const keyring = new KmsKeyringNode({
    generatorKeyId: arn,
    clientProvider: cacheClients(getClient(clientKms.KMS, clientConfig(server))),
  });
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
  const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  const esdkRoundTrip = (suiteId) => async (bytes) => {
    const { result } = await encrypt(keyring, bytes, {
      encryptionContext: CONTEXT,
      ...(suiteId === undefined ? {} : { suiteId }),
    });
    const { plaintext, messageHeader } = await decrypt(keyring, result);
    if (!contextHolds(messageHeader.encryptionContext, CONTEXT)) throw new Error('context does not match');
    return { plaintext, messageHeader };
  };

  const bareClient = new clientKms.KMSClient(clientConfig(server));
  // The map our provider sends: the context, the core's keystore:alg and the reference entry.
  const kmsContext = { ...CONTEXT, 'keystore:alg': 'fernet', 'keystore:aws-kms-ref': arn };
  const bare = async () => {
    const made = await bareClient.send(
      new clientKms.GenerateDataKeyCommand({ KeyId: arn, NumberOfBytes: 32, EncryptionContext: kmsContext }),
    );
    const opened = await bareClient.send(
      new clientKms.DecryptCommand({
        KeyId: arn,
        CiphertextBlob: made.CiphertextBlob,
        EncryptionContext: kmsContext,
      }),
    );
    return Buffer.from(made.Plaintext).equals(Buffer.from(opened.Plaintext));
  };

  const esdkContender = (id, suiteId, suiteName, expectedSuite) => {
    const roundTrip = esdkRoundTrip(suiteId);
    return {
      id,
      name: `@aws-crypto/client-node ${versions.esdk} KmsKeyringNode, REQUIRE_ENCRYPT_REQUIRE_DECRYPT, ${suiteName}, with a context, + the caller's context check`,
      async verify(size) {
        const bytes = payloadBytes(size);
        const { plaintext, messageHeader } = await roundTrip(bytes);
        // Its decrypt has no expected context: a message of another context opens as well.
        const { result } = await encrypt(keyring, bytes, {
          encryptionContext: { ...CONTEXT, id: '4712' },
          ...(suiteId === undefined ? {} : { suiteId }),
        });
        const other = await decrypt(keyring, result);
        return [
          check(sameBytes(plaintext, bytes), 'round trip'),
          check(messageHeader.suiteId === expectedSuite, `suite ${AlgorithmSuiteIdentifier[expectedSuite]}`),
          check(
            sameBytes(other.plaintext, bytes) && other.messageHeader.encryptionContext.id === '4712',
            'decrypts a message of another context without being asked (no expected-context parameter)',
          ),
        ];
      },
      runner(size) {
        const bytes = payloadBytes(size);
        return asyncRunner(async () => {
          if ((await roundTrip(bytes)).plaintext.length !== size) throw new Error('wrong length');
        });
      },
    };
  };

  const contenders = [
    keystoreContender({
      name: `@keystore/aws-kms ${versions.keystoreAwsKms} Keystore, with a context`,
      keystore,
      context: CONTEXT,
      InvalidToken,
    }),
    esdkContender('esdk-default', undefined, 'default suite (committing, ECDSA P-384 signed)', SIGNED),
    esdkContender(
      'esdk-unsigned',
      UNSIGNED,
      'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY (committing, unsigned)',
      UNSIGNED,
    ),
    {
      id: 'bare',
      name: `reference: the two KMS calls alone, GenerateDataKey + Decrypt (@aws-sdk/client-kms ${versions.clientKms}, same context map; no envelope, no payload)`,
      async verify() {
        return [check(await bare(), 'Decrypt gives back the data key')];
      },
      runner() {
        return asyncRunner(async () => {
          if (!(await bare())) throw new Error('wrong data key');
        });
      },
    },
  ];

  return {
    contenders,
    keyArn: arn,
    async close() {
      await keystore.close();
      bareClient.destroy();
      // The key is not needed after the run: KMS's shortest deletion window.
      await admin
        .scheduleKeyDeletion(keyId, { confirm: keyId, pendingWindowInDays: 7 })
        .catch(() => undefined);
      await admin.close();
    },
  };
}
