import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BulkItem,
  createFileProvider,
  createFileStore,
  createKeystore,
  Fernet,
  isKeystoreError,
  type Keystore,
  type KeystoreConfig,
} from '@keystore/core';
import type { MaterialStore, ProviderDefinition, StoredKey } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlackboxProvider, keystoreProvider, migrateBlackboxKeys } from '../src/index.js';
import { openRepository } from '../src/provider.js';
import { createBlackboxStore } from '../src/store/blackbox-store.js';
import { type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';

/*
 * The way off Blackbox, step by step, on a repository built with GnuPG as
 * the scripts build one: a plain Fernet key file (as the users' guides store
 * it, and as a Python app reads it), rotated twice through the provider, 20
 * envelopes over its three versions. After every step, every envelope made
 * so far decrypts with that step's configuration.
 */
const gnupg = await requireService('gpg');
const patientsKey = Fernet.generateKey();
const billingKey = Fernet.generateKey();
const repo: BuiltRepo | undefined = gnupg.skip
  ? undefined
  : buildBlackboxRepo(gnupg.env.GPG_BIN ?? 'gpg', {
      admins: [{ email: 'deploy@example.com', algo: 'curve25519' }],
      files: { 'keys/patients': `${patientsKey}\n`, 'keys/billing': `${billingKey}\n` },
    });
const dir = mkdtempSync(join(tmpdir(), 'bbmigrate-'));
const keystorePath = join(dir, 'app.keystore.json');
const password = randomBytes(16).toString('hex');
const scrypt = { name: 'scrypt', N: 2 ** 12 } as const;
const env = {
  BLACKBOX_IDENTITY: repo?.admins[0]?.armoredSecretKey ?? '',
  BLACKBOX_PASSPHRASE: repo?.admins[0]?.passphrase ?? '',
  KEYSTORE_PASSWORD: password,
};
const options = { env, providers: { blackbox: keystoreProvider as ProviderDefinition<never> } };
const from = { repo: repo?.root ?? '', identity: env.BLACKBOX_IDENTITY, passphrase: env.BLACKBOX_PASSPHRASE };

const blackboxBlock = {
  type: 'blackbox',
  repo: repo?.root ?? '',
  identity: { env: 'BLACKBOX_IDENTITY' },
  passphrase: { env: 'BLACKBOX_PASSPHRASE' },
} as const;
const fileBlock = { type: 'file', path: keystorePath, password: { env: 'KEYSTORE_PASSWORD' } } as const;
const blackboxOnly: KeystoreConfig = { provider: blackboxBlock, defaultKey: 'patients' };
const both: KeystoreConfig = {
  recipients: [
    { name: 'blackbox', provider: blackboxBlock, key: 'patients' },
    { name: 'file', provider: fileBlock, key: 'patients' },
  ],
};
const fileOnly: KeystoreConfig = { provider: fileBlock, defaultKey: 'patients' };

interface Row {
  readonly envelope: string;
  readonly context: { table: string; id: string };
  readonly plaintext: string;
}
/** The envelopes as first made, and as each step rewrote them (what the application's table holds). */
let made: Row[] = [];
let stored: Row[] = [];
let fernetToken = '';
const keystores: Keystore[] = [];

async function open(config: KeystoreConfig): Promise<Keystore> {
  const keystore = await createKeystore(config, options);
  keystores.push(keystore);
  return keystore;
}

async function expectAllDecrypt(keystore: Keystore, rows: readonly Row[]): Promise<void> {
  const results = await keystore.decryptMany(rows.map((r) => ({ envelope: r.envelope, context: r.context })));
  expect(results.map((r) => (r.ok ? Buffer.from(r.value).toString() : `failed: ${r.error.message}`))).toEqual(
    rows.map((r) => r.plaintext),
  );
}

async function makeRows(keystore: Keystore, from: number, count: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (let id = from; id < from + count; id++) {
    const context = { table: 'patients', id: String(id) };
    const plaintext = `record ${id}`;
    rows.push({ envelope: await keystore.encrypt(plaintext, { context }), context, plaintext });
  }
  return rows;
}

const items = (rows: readonly Row[]): BulkItem[] =>
  rows.map((r) => ({ envelope: r.envelope, context: r.context }));
function rewritten(rows: readonly Row[], results: { ok: boolean; value?: string; error?: Error }[]): Row[] {
  return rows.map((row, i) => {
    const r = results[i];
    if (!r?.ok) throw new Error(`row ${i}: ${r?.error?.message}`);
    return { ...row, envelope: r.value as string };
  });
}

function versionsOf(key: StoredKey | undefined) {
  return key?.versions.map((v) => ({
    version: v.version,
    createdAt: v.createdAt,
    state: v.state,
    material: Buffer.from(v.material).toString('hex'),
  }));
}

async function fileStore(path = keystorePath): Promise<MaterialStore> {
  return createFileStore({ path, password, create: true, kdf: scrypt });
}

describe.skipIf(gnupg.skip)('moving off Blackbox (a repository built with GnuPG 2.2)', () => {
  afterAll(async () => {
    await Promise.allSettled(keystores.map((k) => k.close()));
    repo?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('before: 20 envelopes over 3 versions of a key made with blackbox_edit, and a Fernet token a Python app made with it', async () => {
    const keystore = await open(blackboxOnly);
    made = await makeRows(keystore, 0, 7);
    await keystore.rotate('patients');
    made.push(...(await makeRows(keystore, 7, 7)));
    await keystore.rotate('patients');
    made.push(...(await makeRows(keystore, 14, 6)));
    expect(made.map((r) => keystore.inspect(r.envelope).version)).toEqual([
      ...Array(7).fill(1),
      ...Array(7).fill(2),
      ...Array(6).fill(3),
    ]);
    // What the app does with the file's first line: Fernet straight on the key, no keystore.
    fernetToken = new Fernet(patientsKey).encrypt('python record');
    // Version 1 retired (still decrypts, never encrypts): the state has to survive the copy too.
    const store = createBlackboxStore(await openRepository(from));
    const key = (await store.load('patients')) as StoredKey;
    await store.save?.(
      { ...key, versions: key.versions.map((v) => (v.version === 1 ? { ...v, state: 'disabled' } : v)) },
      3,
    );
    await store.close();
    stored = made;
    await expectAllDecrypt(await open(blackboxOnly), stored);
  });

  it('step 1: copies every key with all its versions; the application is unchanged', async () => {
    const source = createBlackboxStore(await openRepository(from));
    const expected = {
      patients: versionsOf(await source.load('patients')),
      billing: versionsOf(await source.load('billing')),
    };
    await source.close();
    expect(expected.patients?.map((v) => [v.version, v.state])).toEqual([
      [1, 'disabled'],
      [2, 'enabled'],
      [3, 'enabled'],
    ]);

    const target = await fileStore();
    const progress: [number, number][] = [];
    const report = await migrateBlackboxKeys({
      from,
      to: target,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(report).toEqual({ copied: ['billing', 'patients'], skipped: [] });
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(versionsOf(await target.load('patients'))).toEqual(expected.patients);
    expect(versionsOf(await target.load('billing'))).toEqual(expected.billing);
    await target.close();

    await expectAllDecrypt(await open(blackboxOnly), stored);
  });

  it('the copied key alone does not open envelopes made through blackbox (the wrap binds the provider type)', async () => {
    const keystore = await open(fileOnly);
    const row = made[0] as Row;
    const error = await keystore.decrypt(row.envelope, { context: row.context }).catch((e: unknown) => e);
    expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    // Not only the keystore's check: the same material under another provider type does not unwrap.
    const blackbox = await createBlackboxProvider(from);
    const file = await createFileProvider({ path: keystorePath, password });
    try {
      const context = { table: 'patients', id: 'probe' };
      const wrapped = await blackbox.wrapKey({ keyId: 'patients', plaintext: new Uint8Array(32), context });
      const unwrap = { keyId: 'patients', version: wrapped.version, ciphertext: wrapped.ciphertext, context };
      expect(await blackbox.unwrapKey(unwrap)).toHaveLength(32);
      const refused = await file.unwrapKey(unwrap).catch((e: unknown) => e);
      expect(isKeystoreError(refused, 'InvalidToken')).toBe(true);
    } finally {
      await blackbox.close();
      await file.close();
    }
  });

  it('the Fernet token made directly with the key decrypts with the copied material', async () => {
    const provider = await createFileProvider({ path: keystorePath, password });
    try {
      const material = await provider.getKey?.('patients', 1);
      expect(material?.version).toBe(1);
      expect(Buffer.from(new Fernet(material?.material as Uint8Array).decrypt(fernetToken)).toString()).toBe(
        'python record',
      );
      // And the copy is the key Python has: its base64url is the file's line.
      expect(Buffer.from(material?.material as Uint8Array).toString('base64url')).toBe(
        patientsKey.replace(/=+$/, ''),
      );
    } finally {
      await provider.close();
    }
  });

  it('step 2: with recipients [blackbox, file], old envelopes decrypt and new ones carry both', async () => {
    const keystore = await open(both);
    await expectAllDecrypt(keystore, stored);
    const fresh = await makeRows(keystore, 20, 3);
    for (const r of fresh) {
      expect(keystore.inspect(r.envelope).recipients.map((x) => x.provider)).toEqual(['blackbox', 'file']);
    }
    made = [...made, ...fresh];
    stored = [...stored, ...fresh];
    await expectAllDecrypt(keystore, made);
  });

  it('step 3: addRecipientMany(stored, file); every envelope, rewritten or not, decrypts', async () => {
    const keystore = await open(both);
    const progress: number[] = [];
    const results = await keystore.addRecipientMany(items(stored), 'file', {
      onProgress: (done) => progress.push(done),
    });
    stored = rewritten(stored, results);
    expect(progress.at(-1)).toBe(stored.length);
    for (const r of stored) {
      expect(keystore.inspect(r.envelope).recipients.map((x) => x.provider)).toEqual(['blackbox', 'file']);
    }
    await expectAllDecrypt(keystore, stored);
    await expectAllDecrypt(keystore, made); // rows the job has not reached yet
    await expectAllDecrypt(await open(fileOnly), stored);
  });

  it('step 4: removeRecipientMany(stored, blackbox); every envelope decrypts', async () => {
    const keystore = await open(both);
    stored = rewritten(stored, await keystore.removeRecipientMany(items(stored), 'blackbox'));
    for (const r of stored) {
      const info = keystore.inspect(r.envelope);
      expect([info.format, info.recipients.map((x) => x.provider)]).toEqual([1, ['file']]);
    }
    await expectAllDecrypt(keystore, stored);
    await expectAllDecrypt(keystore, made);
  });

  it('re-running the copy skips every key', async () => {
    const target = await fileStore();
    try {
      expect(await migrateBlackboxKeys({ from, to: target })).toEqual({
        copied: [],
        skipped: ['billing', 'patients'],
      });
    } finally {
      await target.close();
    }
  });

  it('a target holding a key with other versions is refused before anything is written', async () => {
    const target = await fileStore(join(dir, 'conflict.keystore.json'));
    try {
      const now = new Date().toISOString();
      const material = new Uint8Array(randomBytes(32));
      await target.save?.(
        {
          keyId: 'patients',
          createdAt: now,
          versions: [{ version: 1, createdAt: now, state: 'enabled', material }],
        },
        0,
      );
      const error = await migrateBlackboxKeys({ from, to: target }).catch((e: unknown) => e);
      expect(isKeystoreError(error, 'Conflict')).toBe(true);
      expect((error as Error).message).toContain("'patients'");
      expect((error as Error).message).not.toContain(patientsKey.slice(0, 20));
      // 'billing' comes first in the repository and conflicts with nothing: still not written.
      expect(await target.load('billing')).toBeUndefined();
      expect(versionsOf(await target.load('patients'))?.[0]?.material).toBe(
        Buffer.from(material).toString('hex'),
      );
    } finally {
      await target.close();
    }
  });

  it('copies only the keys named; a key the repository lacks is KeyNotFound', async () => {
    const target = await fileStore(join(dir, 'some.keystore.json'));
    try {
      expect(await migrateBlackboxKeys({ from, to: target, keys: ['billing'] })).toEqual({
        copied: ['billing'],
        skipped: [],
      });
      expect(await target.load('patients')).toBeUndefined();
      const error = await migrateBlackboxKeys({ from, to: target, keys: ['billing', 'nope'] }).catch(
        (e: unknown) => e,
      );
      expect(isKeystoreError(error, 'KeyNotFound')).toBe(true);
    } finally {
      await target.close();
    }
  });

  it('step 5: the file provider alone decrypts everything, with the repository deleted', async () => {
    await Promise.allSettled(keystores.splice(0).map((k) => k.close()));
    repo?.remove();
    expect(existsSync(repo?.root ?? '')).toBe(false);
    const keystore = await open(fileOnly);
    await expectAllDecrypt(keystore, stored);
  });
});
