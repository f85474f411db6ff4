import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileProvider, type KeyProvider, Keystore, NoRecipientOpened } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { type AwsKmsKeyProvider, createAwsKmsProvider } from '../src/index.js';
import { kmsOptions, retireKeys } from './fixtures/kms.js';

/*
 * Envelopes of several recipients (format version 2) over two KMS keys and a
 * file keystore for break-glass: any one opens them, a disabled KMS key is
 * passed over, and when none opens them each recipient's typed code is named.
 */

const kms = await requireService('kms');
const options = kmsOptions(kms.env);
const prefix = `kms-multi-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711' };
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const payloadOf = (envelope: string) => envelope.slice(envelope.lastIndexOf('.') + 1);
const dirs: string[] = [];
/** A second region on the same endpoint: LocalStack keeps each region's keys apart, as KMS does. */
const otherRegion = { ...options, region: options.region === 'eu-central-1' ? 'us-east-1' : 'eu-central-1' };

/** A file keystore in a temp dir with one key, `break-glass`; a low scrypt cost keeps it fast. */
async function fileProvider(): Promise<KeyProvider> {
  const dir = await mkdtemp(join(tmpdir(), 'keystore-kms-multi-'));
  dirs.push(dir);
  const provider = await createFileProvider({
    path: join(dir, 'break-glass.keystore.json'),
    password: 'break-glass password',
    create: true,
    kdf: { name: 'scrypt', N: 2 ** 12 },
  });
  await provider.createKey?.('break-glass');
  return provider;
}

interface Setup {
  kmsProvider: AwsKmsKeyProvider;
  file: KeyProvider;
  a: string;
  b: string;
  /** Recipients kms-a, kms-b, glass, tried in that order. */
  all: Keystore;
}

async function setup(): Promise<Setup> {
  const kmsProvider = await createAwsKmsProvider(options);
  const a = newKeyId();
  const b = newKeyId();
  await kmsProvider.createKey(a);
  await kmsProvider.createKey(b);
  const file = await fileProvider();
  const all = new Keystore({
    recipients: [
      { name: 'kms-a', provider: kmsProvider, key: a },
      { name: 'kms-b', provider: kmsProvider, key: b },
      { name: 'glass', provider: file, key: 'break-glass' },
    ],
  });
  return { kmsProvider, file, a, b, all };
}

/** Runs `test`, then enables the keys it disabled and closes the providers. */
async function withSetup(test: (s: Setup, disable: (keyId: string) => Promise<void>) => Promise<void>) {
  const s = await setup();
  const disabled = new Set<string>();
  try {
    await test(s, async (keyId) => {
      disabled.add(keyId);
      await s.kmsProvider.disableKey(keyId);
    });
  } finally {
    for (const keyId of disabled) await s.kmsProvider.enableKey(keyId).catch(() => undefined);
    await Promise.allSettled([s.kmsProvider.close(), s.file.close()]);
  }
}

describe.skipIf(kms.skip)('aws-kms as recipients of envelopes of several (LocalStack)', () => {
  afterAll(async () => {
    await retireKeys(options, prefix);
    await retireKeys(otherRegion, prefix);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('an envelope to two KMS keys and a file key opens when KMS key A is disabled', async () => {
    await withSetup(async (s, disable) => {
      const envelope = await s.all.encrypt('chart 4711', { context });
      expect(s.all.inspect(envelope)).toMatchObject({
        format: 2,
        recipients: [
          { provider: 'aws-kms', keyId: s.a, version: 1 },
          { provider: 'aws-kms', keyId: s.b, version: 1 },
          { provider: 'file', keyId: 'break-glass', version: 1 },
        ],
      });
      await disable(s.a);
      expect(text(await s.all.decrypt(envelope, { context }))).toBe('chart 4711');
      // A reader of key A alone is refused with the typed code; key B alone opens it.
      const aAlone = new Keystore({ provider: s.kmsProvider, defaultKey: s.a });
      await expect(aAlone.decrypt(envelope, { context })).rejects.toBeInstanceOf(NoRecipientOpened);
      const bAlone = new Keystore({ provider: s.kmsProvider, defaultKey: s.b });
      expect(text(await bAlone.decrypt(envelope, { context }))).toBe('chart 4711');
      const many = await s.all.decryptMany([envelope, envelope], { context });
      expect(many.map((r) => r.ok && text(r.value))).toEqual(['chart 4711', 'chart 4711']);
    });
  });

  it('with A and B disabled and the file recipient closed or left out, NoRecipientOpened gives each KMS key AccessDenied', async () => {
    await withSetup(async (s, disable) => {
      const envelope = await s.all.encrypt('sealed', { context });
      await disable(s.a);
      await disable(s.b);
      // LocalStack answers Decrypt under a disabled key with DisabledException: KmsKeyUnusable, code AccessDenied.
      const kmsOnly = new Keystore({
        recipients: [
          { name: 'kms-a', provider: s.kmsProvider, key: s.a },
          { name: 'kms-b', provider: s.kmsProvider, key: s.b },
        ],
      });
      const left = await kmsOnly.decrypt(envelope, { context }).catch((e: unknown) => e);
      expect(left).toBeInstanceOf(NoRecipientOpened);
      expect(left).toMatchObject({
        code: 'AccessDenied',
        attempts: [
          { recipient: 'kms-a', provider: 'aws-kms', keyId: s.a, version: 1, code: 'AccessDenied' },
          { recipient: 'kms-b', provider: 'aws-kms', keyId: s.b, version: 1, code: 'AccessDenied' },
        ],
      });
      expect((left as NoRecipientOpened).attempts.map((a) => a.message)).toEqual([
        expect.stringMatching(/is disabled/),
        expect.stringMatching(/is disabled/),
      ]);
      expect((left as Error).message).not.toMatch(/arn:/);

      expect(text(await s.all.decrypt(envelope, { context }))).toBe('sealed'); // the file recipient still opens it
      await s.file.close();
      const closed = await s.all.decrypt(envelope, { context }).catch((e: unknown) => e);
      expect(closed).toBeInstanceOf(NoRecipientOpened);
      // Codes differ and none is ProviderUnavailable: the first recipient's.
      expect(closed).toMatchObject({
        code: 'AccessDenied',
        attempts: [
          { recipient: 'kms-a', code: 'AccessDenied' },
          { recipient: 'kms-b', code: 'AccessDenied' },
          { recipient: 'glass', provider: 'file', keyId: 'break-glass', code: 'Closed' },
        ],
      });
    });
  });

  it('an envelope to keys in two regions opens with either region alone, and when one region refuses', async () => {
    const home = await createAwsKmsProvider(options);
    const away = await createAwsKmsProvider(otherRegion);
    try {
      const here = newKeyId();
      const there = newKeyId();
      await home.createKey(here);
      await away.createKey(there);
      // The other region does not have this region's key: each key lives in its region.
      await expect(away.describeKey(here)).rejects.toMatchObject({ code: 'KeyNotFound' });
      const both = new Keystore({
        recipients: [
          { name: options.region, provider: home, key: here },
          { name: otherRegion.region, provider: away, key: there },
        ],
      });
      const envelope = await both.encrypt('replicated', { context });
      const awayAlone = new Keystore({ provider: away, defaultKey: there });
      expect(text(await awayAlone.decrypt(envelope, { context }))).toBe('replicated');
      await home.disableKey(here);
      try {
        expect(text(await both.decrypt(envelope, { context }))).toBe('replicated');
      } finally {
        await home.enableKey(here);
      }
    } finally {
      await Promise.allSettled([home.close(), away.close()]);
    }
  });

  it('a recipient added to a KMS v1 envelope, then the KMS one removed: the payload is unchanged', async () => {
    await withSetup(async (s) => {
      const kmsAlone = new Keystore({ provider: s.kmsProvider, defaultKey: s.a });
      const fileAlone = new Keystore({ provider: s.file, defaultKey: 'break-glass' });
      const v1 = await kmsAlone.encrypt('moved to break-glass', { context });
      expect(v1.startsWith('ks1.')).toBe(true);
      const added = await s.all.addRecipient(v1, 'glass', { context });
      expect(s.all.inspect(added).recipients).toEqual([
        { provider: 'aws-kms', keyId: s.a, version: 1 },
        { provider: 'file', keyId: 'break-glass', version: 1 },
      ]);
      expect(payloadOf(added)).toBe(payloadOf(v1));
      expect(text(await fileAlone.decrypt(added, { context }))).toBe('moved to break-glass');
      expect(await s.all.removeRecipient(added, 'glass', { context })).toBe(v1);
      const glassOnly = await s.all.removeRecipient(added, 'kms-a', { context });
      expect(glassOnly.startsWith('ks1.')).toBe(true);
      expect(s.all.inspect(glassOnly).recipients).toEqual([
        { provider: 'file', keyId: 'break-glass', version: 1 },
      ]);
      expect(payloadOf(glassOnly)).toBe(payloadOf(v1));
      expect(text(await fileAlone.decrypt(glassOnly, { context }))).toBe('moved to break-glass');
      await expect(kmsAlone.decrypt(glassOnly, { context })).rejects.toMatchObject({ code: 'KeyNotFound' });
      await expect(s.all.removeRecipient(glassOnly, 'glass', { context })).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
    });
  });

  it('reencrypt of a v2 envelope after RotateKeyOnDemand and after a file key rotation keeps every recipient opening it', async () => {
    await withSetup(async (s) => {
      const readers = [
        new Keystore({ provider: s.kmsProvider, defaultKey: s.a }),
        new Keystore({ provider: s.kmsProvider, defaultKey: s.b }),
        new Keystore({ provider: s.file, defaultKey: 'break-glass' }),
      ];
      const envelope = await s.all.encrypt('rotated twice', { context });
      await s.kmsProvider.rotateKeyOnDemand(s.a);
      const afterKms = await s.all.reencrypt(envelope, { context });
      expect(afterKms).not.toBe(envelope);
      expect(payloadOf(afterKms)).toBe(payloadOf(envelope));
      // KMS rotates in place: the version stays 1, the wrapped key is new.
      expect(s.all.inspect(afterKms).recipients.map((r) => r.version)).toEqual([1, 1, 1]);
      await s.all.rotate('break-glass');
      const afterFile = await s.all.reencrypt(afterKms, { context });
      expect(s.all.inspect(afterFile).recipients).toEqual([
        { provider: 'aws-kms', keyId: s.a, version: 1 },
        { provider: 'aws-kms', keyId: s.b, version: 1 },
        { provider: 'file', keyId: 'break-glass', version: 2 },
      ]);
      expect(payloadOf(afterFile)).toBe(payloadOf(envelope));
      for (const e of [envelope, afterKms, afterFile]) {
        for (const reader of [...readers, s.all]) {
          expect(text(await reader.decrypt(e, { context }))).toBe('rotated twice');
        }
      }
      await expect(s.all.reencrypt(afterFile, { context: { id: '1' } })).rejects.toMatchObject({
        code: 'InvalidToken',
      });
    });
  });
});
