import { randomBytes } from 'node:crypto';
import { GetKeyRotationStatusCommand, KMSClient } from '@aws-sdk/client-kms';
import { Keystore } from '@keystore/core';
import { guardProvider } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createAwsKmsProvider } from '../src/index.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
const prefix = `kmsrot-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711' };

describe.skipIf(kms.skip)('aws-kms rotateKey (in place, RotateKeyOnDemand) against LocalStack', () => {
  afterAll(() => retireKeys(options, prefix));

  it('declares in-place versioning and rotateKey; the guard keeps the declaration', async () => {
    const provider = guardProvider(await createAwsKmsProvider(options));
    expect(provider.versioning).toBe('in-place');
    expect(provider.capabilities.rotateKey).toBe(true);
    expect(provider.capabilities.listVersions).toBe(false);
    await provider.close();
  });

  it('rotates behind the same key: version 1 before and after, old envelopes decrypt, reencrypt moves them', async () => {
    const raw = await createAwsKmsProvider(options);
    const keystore = new Keystore({ provider: raw, allowedKeys: '*' });
    const keyId = newKeyId();
    await keystore.createKey(keyId, { description: 'patients' });
    const old = await keystore.encrypt('blood type AB+', { key: keyId, context });
    const started = performance.now();
    const meta = await keystore.rotate(keyId);
    const elapsed = performance.now() - started;
    expect(meta).toMatchObject({ keyId, latestVersion: 1, description: 'patients' });
    // KMS reports no rotation in progress once rotateKey has answered.
    const arn = (await raw.describeKey(keyId)).arn;
    const client = new KMSClient({
      region: options.region,
      endpoint: options.endpoint ?? '',
      credentials: options.credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: arn }));
    client.destroy();
    expect(status.OnDemandRotationStartDate).toBeUndefined();
    const fresh = await keystore.encrypt('blood type 0-', { key: keyId, context });
    const moved = await keystore.reencrypt(old, { context });
    for (const envelope of [old, fresh, moved]) expect(keystore.inspect(envelope).version).toBe(1);
    expect(moved).not.toBe(old);
    expect(new TextDecoder().decode(await keystore.decrypt(old, { context }))).toBe('blood type AB+');
    expect(new TextDecoder().decode(await keystore.decrypt(moved, { context }))).toBe('blood type AB+');
    expect(new TextDecoder().decode(await keystore.decrypt(fresh, { context }))).toBe('blood type 0-');
    await expect(keystore.decrypt(moved, { context: { id: 'other' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    console.info(`aws-kms: rotateKey (RotateKeyOnDemand and the status wait) took ${elapsed.toFixed(0)} ms`);
    await keystore.close();
  });

  it('the per-key limit of on-demand rotations: the eleventh is UnsupportedOperation, and the key still works', async () => {
    const provider = guardProvider(await createAwsKmsProvider(options));
    const keyId = newKeyId();
    await provider.createKey(keyId);
    const dek = randomBytes(32);
    const wrapped = await provider.wrapKey({ keyId, plaintext: dek, context });
    let rotations = 0;
    let refused: unknown;
    while (refused === undefined && rotations < 30) {
      try {
        await provider.rotateKey(keyId);
        rotations++;
      } catch (error) {
        refused = error;
      }
    }
    // LocalStack 4.9.2 enforces the limit of the KMS API reference (10 per key).
    expect(rotations).toBe(10);
    expect(refused).toMatchObject({
      code: 'UnsupportedOperation',
      message: expect.stringContaining('no on-demand rotations left'),
    });
    expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(dek);
    await provider.close();
  });

  it('an unknown key is KeyNotFound, before any rotation is asked for', async () => {
    const provider = guardProvider(await createAwsKmsProvider(options));
    await expect(provider.rotateKey(newKeyId())).rejects.toMatchObject({ code: 'KeyNotFound' });
    await provider.close();
  });
});
