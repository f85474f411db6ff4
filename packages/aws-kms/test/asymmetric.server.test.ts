import { randomBytes } from 'node:crypto';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { Keystore } from '@keystore/core';
import { guardProvider } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAsymmetric } from '../src/asymmetric-wire.js';
import { createAwsKmsProvider, createAwsKmsPublicKeyProvider, KmsKeyUnusable } from '../src/index.js';
import { decodeWrapped } from '../src/wire.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
const prefix = `kmsrsa-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711', 'keystore:alg': 'fernet' };
const invalid = { code: 'InvalidToken' };

describe.skipIf(kms.skip)('aws-kms RSA keys (RSAES_OAEP_SHA_256) against LocalStack', () => {
  afterAll(() => retireKeys(options, prefix));

  it('round trip with a context: wrapped locally to the public key, opened by KMS Decrypt; a wrong context is InvalidToken', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId, { keySpec: 'RSA_2048' });
    const description = await provider.describeKey(keyId);
    expect(description).toMatchObject({ keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' });
    const dataKey = randomBytes(32);
    const wrapped = await provider.wrapKey({ keyId, plaintext: dataKey, context });
    expect(wrapped).toMatchObject({ keyId, version: 1 });
    const wire = decodeAsymmetric(wrapped.ciphertext, context);
    expect(wire).toMatchObject({ ref: `alias/${keyId}`, arn: description.arn });
    expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(dataKey);
    await expect(
      provider.unwrapKey({ ...wrapped, context: { ...context, id: '4712' } }),
    ).rejects.toMatchObject(invalid);
    await expect(provider.unwrapKey({ ...wrapped, context: {} })).rejects.toMatchObject(invalid);
    // The RSA part alone is a plain RSAES_OAEP_SHA_256 ciphertext of the key: KMS decrypts it, without any context.
    const client = new KMSClient({
      region: options.region,
      endpoint: options.endpoint ?? '',
      credentials: options.credentials,
    });
    const raw = await client.send(
      new DecryptCommand({
        KeyId: description.arn,
        CiphertextBlob: wire.rsa,
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    expect(raw.Plaintext?.length).toBe(32);
    client.destroy();
    await provider.close();
  });

  it('a tampered RSA part, AEAD part or header, or a truncated wrapped key: the one InvalidToken', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId, { keySpec: 'RSA_3072' });
    const wrapped = await provider.wrapKey({ keyId, plaintext: randomBytes(32), context });
    const bytes = wrapped.ciphertext;
    const wire = decodeAsymmetric(bytes, context);
    const rsaAt = bytes.length - wire.sealed.length - wire.rsa.length;
    expect(wire.rsa.length).toBe(384);
    const flipped = (i: number) => {
      const out = Uint8Array.from(bytes);
      out[i] = (out[i] as number) ^ 0x01;
      return out;
    };
    const cases: [string, Uint8Array][] = [
      ['RSA part, first byte', flipped(rsaAt)],
      ['RSA part, last byte', flipped(rsaAt + wire.rsa.length - 1)],
      ['nonce', flipped(bytes.length - wire.sealed.length)],
      ['AEAD ciphertext', flipped(bytes.length - 17)],
      ['tag', flipped(bytes.length - 1)],
      ['reference', flipped(6)],
      ['truncated seal', bytes.subarray(0, bytes.length - 1)],
      ['truncated RSA part', bytes.subarray(0, rsaAt + 100)],
    ];
    for (const [what, ciphertext] of cases) {
      await expect(provider.unwrapKey({ ...wrapped, ciphertext, context }), what).rejects.toMatchObject(
        invalid,
      );
    }
    // Still opens untouched: nothing above was a cache poisoning.
    await expect(provider.unwrapKey({ ...wrapped, context })).resolves.toHaveLength(32);
    await provider.close();
  });

  it('an envelope for RSA key A is refused under RSA key B, and under a symmetric key; a symmetric envelope under an RSA key', async () => {
    const maker = await createAwsKmsProvider(options);
    const [a, b, sym] = [newKeyId(), newKeyId(), newKeyId()];
    await maker.createKey(a, { keySpec: 'RSA_2048' });
    await maker.createKey(b, { keySpec: 'RSA_2048' });
    await maker.createKey(sym);
    const wrapped = await maker.wrapKey({ keyId: a, plaintext: randomBytes(32), context });
    const onlyB = await createAwsKmsProvider({
      ...options,
      keys: { billing: `alias/${b}`, other: `alias/${sym}` },
    });
    await expect(onlyB.unwrapKey({ ...wrapped, keyId: 'billing', context })).rejects.toMatchObject(invalid);
    await expect(onlyB.rewrapKey({ ...wrapped, keyId: 'billing', context })).rejects.toMatchObject(invalid);
    await expect(onlyB.unwrapKey({ ...wrapped, keyId: 'other', context })).rejects.toMatchObject(invalid);
    const symmetric = await maker.wrapKey({ keyId: sym, plaintext: randomBytes(32), context });
    expect(decodeWrapped(symmetric.ciphertext).ref).toBe(`alias/${sym}`);
    await expect(onlyB.unwrapKey({ ...symmetric, keyId: 'billing', context })).rejects.toMatchObject(invalid);
    // B's own envelope, relabelled with A's ARN (the header is the AEAD's associated data): refused before KMS.
    await Promise.all([maker.close(), onlyB.close()]);
  });

  it('generateDataKey makes the data key locally, any length; rewrapKey gives a fresh wrap of the same key', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId, { keySpec: 'RSA_4096' });
    for (const length of [16, 32, 64]) {
      const { plaintext, wrapped } = await provider.generateDataKey({ keyId, length, context });
      expect(plaintext).toHaveLength(length);
      expect(Buffer.from(await provider.unwrapKey({ ...wrapped, context }))).toEqual(Buffer.from(plaintext));
      const rewrapped = await provider.rewrapKey({ ...wrapped, context });
      expect(Buffer.from(rewrapped.ciphertext)).not.toEqual(Buffer.from(wrapped.ciphertext));
      expect(Buffer.from(await provider.unwrapKey({ ...rewrapped, context }))).toEqual(
        Buffer.from(plaintext),
      );
    }
    await provider.close();
  });

  it('a disabled RSA key: unwrap is KmsKeyUnusable; enabled again, the envelope opens', async () => {
    const provider = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await provider.createKey(keyId, { keySpec: 'RSA_2048' });
    const wrapped = await provider.wrapKey({ keyId, plaintext: randomBytes(32), context });
    await provider.disableKey(keyId);
    const error = await provider.unwrapKey({ ...wrapped, context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsKeyUnusable);
    expect(error).toMatchObject({ code: 'AccessDenied', state: 'disabled' });
    await provider.enableKey(keyId);
    await expect(provider.unwrapKey({ ...wrapped, context })).resolves.toHaveLength(32);
    await provider.close();
  });

  it('the public-key provider: envelopes made with no KMS call or credentials, opened by the KMS provider; it cannot decrypt', async () => {
    const full = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await full.createKey(keyId, { keySpec: 'RSA_2048' });
    const { arn, publicKeyPem } = await full.getPublicKey(keyId);
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const front = await createAwsKmsPublicKeyProvider({ keys: { patients: { arn, publicKeyPem } } });
    const frontend = new Keystore({ provider: front, defaultKey: 'patients' });
    const record = { name: 'Ada', diagnosis: 'J45.909' };
    const envelope = await frontend.encrypt(JSON.stringify(record), {
      context: { table: 'patients', id: '4711' },
    });
    await expect(
      frontend.decrypt(envelope, { context: { table: 'patients', id: '4711' } }),
    ).rejects.toMatchObject({
      code: 'UnsupportedOperation',
      message: expect.stringContaining('can only encrypt'),
    });
    const backend = new Keystore({
      provider: await createAwsKmsProvider({ ...options, keys: { patients: arn } }),
      defaultKey: 'patients',
    });
    const opened = await backend.decrypt(envelope, { context: { table: 'patients', id: '4711' } });
    expect(JSON.parse(Buffer.from(opened).toString('utf8'))).toEqual(record);
    await expect(
      backend.decrypt(envelope, { context: { table: 'patients', id: '4712' } }),
    ).rejects.toMatchObject(invalid);
    // The wrapped key of the front end opens at the provider level too, and is refused under another key id's key.
    const guarded = guardProvider(front);
    const wrapped = await guarded.wrapKey({ keyId: 'patients', plaintext: randomBytes(32), context });
    await expect(full.unwrapKey({ ...wrapped, keyId, context })).resolves.toHaveLength(32);
    await Promise.all([backend.close(), frontend.close(), full.close()]);
  });

  it('the public-key provider refuses a private key, a non-ARN, an unknown key id; getPublicKey of a symmetric key is UnsupportedOperation', async () => {
    const full = await createAwsKmsProvider(options);
    const keyId = newKeyId();
    await full.createKey(keyId);
    await expect(full.getPublicKey(keyId)).rejects.toMatchObject({ code: 'UnsupportedOperation' });
    const { generateKeyPairSync } = await import('node:crypto');
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const arn = 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000';
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expect(
      createAwsKmsPublicKeyProvider({ keys: { p: { arn, publicKeyPem: privatePem } } }),
    ).rejects.toMatchObject({
      code: 'InvalidKey',
    });
    await expect(
      createAwsKmsPublicKeyProvider({ keys: { p: { arn: 'alias/p', publicKeyPem: publicPem } } }),
    ).rejects.toMatchObject({ code: 'InvalidArgument' });
    const front = await createAwsKmsPublicKeyProvider({ keys: { p: { arn, publicKeyPem: publicPem } } });
    await expect(front.wrapKey({ keyId: 'q', plaintext: randomBytes(32), context })).rejects.toMatchObject({
      code: 'KeyNotFound',
    });
    await Promise.all([front.close(), full.close()]);
  });
});
