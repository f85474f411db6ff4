import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { DecryptCommand, KMSClient, ListResourceTagsCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { createKeystore } from '@keystore/core';
import { guardProvider, type ProviderDefinition } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createAwsKmsProvider,
  KmsAliasRepointed,
  KmsKeyUnusable,
  keystoreProvider,
  REFERENCE_ENTRY,
} from '../src/index.js';
import { decodeWrapped } from '../src/wire.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
const prefix = `kms-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711', 'keystore:alg': 'fernet' };
const admin = () =>
  new KMSClient({
    region: options.region,
    endpoint: options.endpoint ?? '',
    credentials: options.credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' },
  });

describe.skipIf(kms.skip)('aws-kms against LocalStack', () => {
  afterAll(() => retireKeys(options, prefix));

  it('binds the context in KMS itself: a raw Decrypt with another context is refused, the same one succeeds', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId);
    const { plaintext, wrapped } = await (provider.generateDataKey?.({ keyId, length: 32, context }) ??
      Promise.reject(new Error('no generateDataKey')));
    const { blob, ref } = decodeWrapped(wrapped.ciphertext);
    expect(ref).toBe(`alias/${keyId}`);
    const client = admin();
    const decrypt = (ctx: Record<string, string>) =>
      client.send(new DecryptCommand({ KeyId: ref, CiphertextBlob: blob, EncryptionContext: ctx }));
    const exact = { ...context, [REFERENCE_ENTRY]: ref };
    expect(Buffer.from((await decrypt(exact)).Plaintext ?? [])).toEqual(Buffer.from(plaintext));
    await expect(decrypt({ ...exact, id: '4712' })).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    await expect(decrypt(context)).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(
      provider.unwrapKey({ ...wrapped, context: { ...context, id: '4712' } }),
    ).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    client.destroy();
    await provider.close();
  });

  it('an envelope under key A is refused when only key B is configured (keys map)', async () => {
    const maker = await createAwsKmsProvider(options);
    const a = newKeyId();
    const b = newKeyId();
    await maker.createKey(a);
    await maker.createKey(b);
    const wrapped = await maker.wrapKey({ keyId: a, plaintext: randomBytes(32), context });
    const onlyB = await createAwsKmsProvider({ ...options, keys: { billing: `alias/${b}` } });
    await expect(onlyB.unwrapKey({ ...wrapped, keyId: 'billing', context })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(onlyB.rewrapKey?.({ ...wrapped, keyId: 'billing', context })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(onlyB.unwrapKey({ ...wrapped, context })).rejects.toMatchObject({ code: 'KeyNotFound' });
    await Promise.all([maker.close(), onlyB.close()]);
  });

  it('an alias re-pointed to another key: KmsAliasRepointed, with a warm cache and a fresh provider; pointing it back restores the envelope', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    const other = newKeyId();
    await provider.createKey(keyId);
    await provider.createKey(other);
    const dek = randomBytes(32);
    const wrapped = await provider.wrapKey({ keyId, plaintext: dek, context });
    expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(dek); // the cache now holds the old ARN
    const oldArn = (await provider.describeKey(keyId)).arn;
    const otherArn = (await provider.describeKey(other)).arn;
    const client = admin();
    // By key id: LocalStack 4.9.2 accepts an ARN as TargetKeyId but then fails every use of the alias.
    const kmsKeyId = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
    await client.send(
      new UpdateAliasCommand({ AliasName: `alias/${keyId}`, TargetKeyId: kmsKeyId(otherArn) }),
    );
    const fresh = await createAwsKmsProvider(options);
    for (const p of [provider, fresh]) {
      const error = await p.unwrapKey({ ...wrapped, context }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KmsAliasRepointed);
      expect(error).toMatchObject({ code: 'AccessDenied', envelopeKeyArn: oldArn, currentKeyArn: otherArn });
      expect(String((error as Error).message)).not.toContain(oldArn);
      await expect(p.rewrapKey?.({ ...wrapped, context })).rejects.toBeInstanceOf(KmsAliasRepointed);
    }
    // Through the guard too: the typed error arrives as it is.
    await expect(guardProvider(fresh).unwrapKey({ ...wrapped, context })).rejects.toBeInstanceOf(
      KmsAliasRepointed,
    );
    await client.send(new UpdateAliasCommand({ AliasName: `alias/${keyId}`, TargetKeyId: kmsKeyId(oldArn) }));
    expect(Buffer.from(await fresh.unwrapKey({ ...wrapped, context }))).toEqual(dek);
    client.destroy();
    await Promise.all([provider.close(), fresh.close()]);
  });

  it('a disabled key and a key pending deletion fail with KmsKeyUnusable naming the state; enabling restores it', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId);
    const dek = randomBytes(32);
    const wrapped = await provider.wrapKey({ keyId, plaintext: dek, context });
    await provider.disableKey(keyId);
    for (const call of [
      () => provider.unwrapKey({ ...wrapped, context }),
      () => provider.wrapKey({ keyId, plaintext: dek, context }),
      () => provider.rewrapKey?.({ ...wrapped, context }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KmsKeyUnusable);
      expect(error).toMatchObject({ code: 'AccessDenied', state: 'disabled' });
      expect(String((error as Error).message)).toMatch(/is disabled/);
      expect(String((error as Error).message)).not.toMatch(/arn:/);
    }
    expect((await provider.describeKey(keyId)).state).toBe('Disabled');
    await provider.enableKey(keyId);
    expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(dek);

    await expect(provider.scheduleKeyDeletion(keyId, { confirm: 'other' } as never)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(
      provider.scheduleKeyDeletion(keyId, { confirm: keyId, pendingWindowInDays: 0 }),
    ).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect((await provider.describeKey(keyId)).state).toBe('Enabled');
    const scheduled = await provider.scheduleKeyDeletion(keyId, { confirm: keyId, pendingWindowInDays: 7 });
    expect(scheduled.pendingWindowInDays).toBe(7);
    expect(Date.parse(scheduled.deletionDate ?? '') - Date.now()).toBeGreaterThan(6 * 86_400_000);
    await expect(provider.unwrapKey({ ...wrapped, context })).rejects.toMatchObject({
      code: 'AccessDenied',
      state: 'pending-deletion',
    });
    await provider.cancelKeyDeletion(keyId);
    await provider.enableKey(keyId);
    expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(dek);
    await provider.close();
  });

  it('ReEncrypt after RotateKeyOnDemand: a new ciphertext of the same data key, still version 1, context still bound', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId, { description: 'patients', tags: { team: 'records' } });
    const { plaintext, wrapped } = await (provider.generateDataKey?.({ keyId, length: 32, context }) ??
      Promise.reject(new Error('no generateDataKey')));
    await provider.rotateKeyOnDemand(keyId);
    const moved = await (provider.rewrapKey?.({ ...wrapped, context }) ??
      Promise.reject(new Error('no rewrap')));
    expect(moved.version).toBe(1);
    expect(Buffer.from(moved.ciphertext).equals(Buffer.from(wrapped.ciphertext))).toBe(false);
    expect(await provider.unwrapKey({ ...moved, context })).toEqual(plaintext);
    expect(await provider.unwrapKey({ ...wrapped, context })).toEqual(plaintext);
    await expect(provider.rewrapKey?.({ ...wrapped, context: { id: '1' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    const description = await provider.describeKey(keyId);
    expect(description).toMatchObject({
      description: 'patients',
      keyUsage: 'ENCRYPT_DECRYPT',
      enabled: true,
    });
    const client = admin();
    const tags = await client.send(new ListResourceTagsCommand({ KeyId: description.arn }));
    expect(tags.Tags).toEqual([{ TagKey: 'team', TagValue: 'records' }]);
    client.destroy();
    await provider.close();
  });

  it('through createKeystore: keys map, credentials as references, endpoint from AWS_ENDPOINT_URL_KMS', async () => {
    const maker = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await maker.createKey(keyId);
    const arn = (await maker.describeKey(keyId)).arn;
    await maker.close();
    const keystore = await createKeystore(
      {
        provider: {
          type: 'aws-kms',
          region: options.region,
          keys: { patients: `alias/${keyId}`, billing: arn },
          credentials: { accessKeyId: { env: 'TEST_KEY_ID' }, secretAccessKey: { env: 'TEST_SECRET' } },
        },
        defaultKey: 'patients',
        allowedKeys: ['billing'],
      },
      {
        env: { TEST_KEY_ID: 'test', TEST_SECRET: 'test', AWS_ENDPOINT_URL_KMS: options.endpoint ?? '' },
        // Passed by hand: in this workspace core cannot import @keystore/aws-kms (pnpm's strict layout).
        providers: { 'aws-kms': keystoreProvider as ProviderDefinition<never> },
      },
    );
    const envelope = await keystore.encrypt('blood type AB+', { context: { id: '1' } });
    expect(keystore.inspect(envelope)).toMatchObject({ provider: 'aws-kms', keyId: 'patients', version: 1 });
    const moved = await keystore.reencrypt(envelope, { context: { id: '1' } });
    expect(new TextDecoder().decode(await keystore.decrypt(moved, { context: { id: '1' } }))).toBe(
      'blood type AB+',
    );
    const billing = await keystore.encrypt('invoice', { key: 'billing' });
    expect(new TextDecoder().decode(await keystore.decrypt(billing))).toBe('invoice');
    // Rotation is in place (RotateKeyOnDemand): the key stays at version 1 and old envelopes still decrypt.
    expect(await keystore.rotate('patients')).toMatchObject({ keyId: 'patients', latestVersion: 1 });
    expect(new TextDecoder().decode(await keystore.decrypt(moved, { context: { id: '1' } }))).toBe(
      'blood type AB+',
    );
    await keystore.close();
  });

  it("a KMS that accepts and never answers: the call's deadline aborts the SDK (retries included)", async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // reads (and drops) the request, so the client's abort is seen as the socket's end
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const provider = guardProvider(
      await createAwsKmsProvider({
        ...options,
        endpoint: `http://127.0.0.1:${port}`,
        keys: { k: 'alias/k' },
      }),
      { timeoutMs: 400 },
    );
    const started = performance.now();
    await expect(provider.wrapKey({ keyId: 'k', plaintext: randomBytes(32), context })).rejects.toMatchObject(
      {
        code: 'ProviderUnavailable',
      },
    );
    expect(performance.now() - started).toBeLessThan(1_500);
    // The abort reached the SDK: its socket is closed shortly after, not left hanging.
    const deadline = performance.now() + 2_000;
    while (sockets.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sockets.size).toBe(0);
    await provider.close();
    server.close();
  });
});
