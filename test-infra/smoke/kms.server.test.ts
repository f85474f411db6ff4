import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { kmsClientConfig, requireService } from '../vitest/services.js';

const kms = await requireService('kms');

describe.skipIf(kms.skip)(`AWS KMS (${kms.env.KMS_IMPL ?? 'endpoint'}) from test-infra`, () => {
  const client = new KMSClient(kmsClientConfig(kms.env));
  const context = { purpose: 'smoke' };

  afterAll(() => client.destroy());

  it('creates a key, encrypts and decrypts with an encryption context', async () => {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'test-infra smoke' }));
    const keyId = KeyMetadata?.KeyId as string;
    expect(keyId).toBeTruthy();

    const plaintext = new TextEncoder().encode('hello kms');
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }),
    );
    expect(CiphertextBlob?.length).toBeGreaterThan(0);

    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }));
    expect(new TextDecoder().decode(decrypted.Plaintext)).toBe('hello kms');
    expect(decrypted.KeyId).toContain(keyId);

    await expect(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'other' } })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });

    const dataKey = await client.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(dataKey.Plaintext?.length).toBe(32);
  });
});
