import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKeystore } from '@keystore/core';
import { createMaterialProvider, type KeyProvider, type ProviderDefinition } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createVaultClient, type VaultClient } from '../src/client.js';
import { createVaultProvider, keystoreProvider } from '../src/index.js';
import { kvPaths } from '../src/kv/paths.js';
import { createKvStore } from '../src/kv/store.js';
import { kvAdmin } from './fixtures/kv-admin.js';
import { ESCAPING_KEY_IDS } from './support/key-ids.js';
import { kvOptions } from './support/server.js';

const vault = await requireService('vault');
const run = randomBytes(4).toString('hex');
const pathPrefix = `keystore-test-${run}/`;
const options = kvOptions(vault, pathPrefix);
const admin = kvAdmin({ ...options, token: options.auth.token });
let counter = 0;
const newKeyId = () => `kv-${run}-${++counter}`;
const context = { table: 'patients', id: '4711' };
const never = (): never => {
  throw new Error('the provider lacks the method');
};
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A client whose every write first lets `before` run (another writer getting in first). */
function racingClient(client: VaultClient, before: () => Promise<void>): VaultClient {
  return {
    async request(method, path, body) {
      if (method === 'POST') await before();
      return client.request(method, path, body);
    },
    close: () => client.close(),
  };
}

describe.skipIf(vault.skip)('vault kv against OpenBao', () => {
  afterAll(async () => {
    await admin.removeFolder(pathPrefix);
  });

  it('stores a key as the documented layout at <mount>/data/<pathPrefix><keyId>', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    const created = await (provider.createKey?.(keyId, { description: 'patients' }) ?? never());
    await provider.rotateKey?.(keyId);
    const secret = await admin.read(`${pathPrefix}${keyId}`);
    expect(secret?.version).toBe(2); // one KV write per change: create, then the rotation
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(
      ['createdAt', 'description', 'format', 'formatVersion', 'keyId', 'versions'].sort(),
    );
    expect(secret?.data).toMatchObject({
      format: 'keystore-vault-kv',
      formatVersion: 1,
      keyId,
      createdAt: created.createdAt,
      description: 'patients',
    });
    const versions = secret?.data.versions as Record<string, unknown>[];
    expect(versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'enabled'],
      [2, 'enabled'],
    ]);
    for (const v of versions) {
      expect(Object.keys(v).sort()).toEqual(['createdAt', 'material', 'state', 'version']);
      expect(new Date(v.createdAt as string).toISOString()).toBe(v.createdAt);
      const material = await (provider.getKey?.(keyId, v.version as number) ?? never());
      expect(v.material).toBe(Buffer.from(material.material).toString('base64'));
      expect(Buffer.from(v.material as string, 'base64')).toHaveLength(32);
    }
    expect(await admin.list(pathPrefix)).toEqual([keyId]);
    await provider.close();
  });

  it('envelopes survive rotation and a new provider instance; through the createKeystore configuration', async () => {
    const keyId = newKeyId();
    const config = {
      provider: {
        type: 'vault' as const,
        endpoint: options.endpoint,
        mode: 'kv' as const,
        auth: { method: 'token' as const, token: { env: 'KEYSTORE_TEST_VAULT_TOKEN' } },
        mount: options.mount,
        pathPrefix,
      },
      defaultKey: keyId,
    };
    const open = () =>
      createKeystore(config, {
        env: { KEYSTORE_TEST_VAULT_TOKEN: options.auth.token },
        providers: { vault: keystoreProvider as ProviderDefinition<never> },
      });
    const keystore = await open();
    await keystore.createKey(keyId);
    const envelope = await keystore.encrypt('blood type AB+', { context: { id: '1' } });
    await keystore.rotate(keyId);
    const again = await open();
    expect(again.inspect(await again.reencrypt(envelope, { context: { id: '1' } }))).toMatchObject({
      version: 2,
    });
    expect(new TextDecoder().decode(await again.decrypt(envelope, { context: { id: '1' } }))).toBe(
      'blood type AB+',
    );
    await expect(again.decrypt(envelope, { context: { id: '2' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await keystore.close();
    await again.close();
  });

  it('a key id is never a path: tenant-../x and the like are refused before any request, nothing lands outside the prefix', async () => {
    const provider = await createVaultProvider(options);
    for (const keyId of ESCAPING_KEY_IDS) {
      await expect(provider.createKey?.(keyId), keyId).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(provider.importKey?.(keyId, new Uint8Array(32)), keyId).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
      await expect(provider.rotateKey?.(keyId), keyId).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(provider.getKey?.(keyId), keyId).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(
        provider.wrapKey({ keyId, plaintext: new Uint8Array(32), context }),
        keyId,
      ).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(provider.deleteKey?.(keyId, { confirm: keyId }), keyId).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
    }
    // `tenant-../x` under the prefix would be <prefix>tenant-../x; `../x` would resolve to the mount's x.
    expect(await admin.list(pathPrefix)).not.toContain('tenant-../');
    expect(await admin.read(`${pathPrefix}tenant-../x`)).toBeUndefined();
    expect(await admin.read('x')).toBeUndefined();
    // The same with an endpoint where nothing listens: a request would be ProviderUnavailable.
    const offline = await createVaultProvider({ ...options, endpoint: 'http://127.0.0.1:9' });
    await expect(offline.createKey?.('tenant-../x')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(offline.createKey?.('fine')).rejects.toMatchObject({ code: 'ProviderUnavailable' });
  });

  it('refuses a mount or prefix with . or .. segments, and a missing mount is not an empty store', async () => {
    for (const bad of [
      { mount: 'secret/../sys' },
      { mount: '../sys' },
      { pathPrefix: '../' },
      { pathPrefix: 'a/../' },
      { pathPrefix: 'keystore' },
      { pathPrefix: '/keystore/' },
      { pathPrefix: '' },
    ]) {
      await expect(createVaultProvider({ ...options, ...bad }), JSON.stringify(bad)).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
    }
    const missing = await createVaultProvider({ ...options, mount: `no-such-mount-${run}` });
    await expect(missing.listKeys?.()).rejects.toMatchObject({ code: 'ProviderError' });
    await expect(missing.getKey?.('k')).rejects.toMatchObject({ code: 'ProviderError' });
  });

  it('listKeys: an empty prefix is empty; sub-folders are not keys; deleteKey removes every KV version', async () => {
    const empty = await createVaultProvider({ ...options, pathPrefix: `${pathPrefix}empty-${run}/` });
    expect(await empty.listKeys?.()).toEqual([]);
    const prefix = `${pathPrefix}list/`;
    const provider = await createVaultProvider({ ...options, pathPrefix: prefix });
    const a = newKeyId();
    const b = newKeyId();
    await provider.createKey?.(b);
    await provider.createKey?.(a);
    await provider.rotateKey?.(a);
    await admin.write(`${prefix}folder/inner`, { x: '1' });
    expect((await provider.listKeys?.())?.map((k) => [k.keyId, k.latestVersion])).toEqual([
      [a, 2],
      [b, 1],
    ]);
    await expect(provider.deleteKey?.(a, { confirm: 'other' })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await provider.deleteKey?.(a, { confirm: a });
    // Metadata gone, not a soft delete of the latest version: no older version can be read back.
    expect((await admin.call('GET', `metadata/${prefix}${a}`)).status).toBe(404);
    expect((await admin.call('GET', `data/${prefix}${a}?version=1`)).status).toBe(404);
    expect((await provider.listKeys?.())?.map((k) => k.keyId)).toEqual([b]);
    await expect(provider.getKey?.(a)).rejects.toMatchObject({ code: 'KeyNotFound' });
  });

  it('a secret edited behind the provider is Corrupted, never a key', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await provider.createKey?.(keyId);
    const { wrapped } = await (provider.generateDataKey?.({ keyId, length: 32, context }) ?? never());
    const path = `${pathPrefix}${keyId}`;
    const good = (await admin.read(path))?.data;
    const other = newKeyId();
    for (const tampered of [
      { ...good, versions: [{ ...good.versions[0], material: 'AAAA' }] },
      {
        ...good,
        versions: [{ ...good.versions[0], material: `${good.versions[0].material.slice(0, 42)}B=` }],
      },
      { ...good, versions: [] },
      { ...good, keyId: other },
      { ...good, extra: 1 },
      { ...good, formatVersion: '1' },
      { x: '1' },
    ]) {
      await admin.write(path, tampered);
      await expect(provider.getKey?.(keyId), JSON.stringify(Object.keys(tampered))).rejects.toMatchObject({
        code: 'Corrupted',
      });
      await expect(provider.unwrapKey({ ...wrapped, context })).rejects.toMatchObject({ code: 'Corrupted' });
      await expect(provider.rotateKey?.(keyId)).rejects.toMatchObject({ code: 'Corrupted' });
    }
    await admin.write(path, { ...good, formatVersion: 2 });
    await expect(provider.getKey?.(keyId)).rejects.toMatchObject({ code: 'ConfigError' });
    // Back as it was: listKeys of the prefix (the race below) would rightly fail on it.
    await admin.write(path, good);
    expect(await provider.unwrapKey({ ...wrapped, context })).toHaveLength(32);
  });

  it('createKey that loses the race to another creator is KeyExists (cas 0), and the other key is kept', async () => {
    const keyId = newKeyId();
    const other = await createVaultProvider(options);
    let winner: Uint8Array | undefined;
    // The other creator gets in between our existence check and our write.
    const late = createMaterialProvider(
      createKvStore(
        racingClient(
          createVaultClient({ endpoint: options.endpoint, token: () => options.auth.token }),
          async () => {
            await other.createKey?.(keyId);
            winner = (await (other.getKey?.(keyId) ?? never())).material;
          },
        ),
        kvPaths(options.mount, pathPrefix),
      ),
    );
    await expect(late.createKey?.(keyId)).rejects.toMatchObject({ code: 'KeyExists' });
    expect(hex((await (other.getKey?.(keyId) ?? never())).material)).toBe(hex(winner ?? never()));
    expect((await admin.read(`${pathPrefix}${keyId}`))?.version).toBe(1);
  });

  it('a stale writer is refused by check-and-set (Conflict) and the other writer keeps its version', async () => {
    const keyId = newKeyId();
    const other = await createVaultProvider(options);
    await other.createKey?.(keyId);
    const client = createVaultClient({ endpoint: options.endpoint, token: () => options.auth.token });
    const store = createKvStore(client, kvPaths(options.mount, pathPrefix));
    const stale = (await store.load(keyId)) ?? never();
    const winner = await (other.rotateKey?.(keyId) ?? never());
    const material = new Uint8Array(32).fill(7);
    const next = {
      ...stale,
      versions: [
        ...stale.versions,
        { version: 2, createdAt: new Date().toISOString(), state: 'enabled' as const, material },
      ],
    };
    await expect(store.save?.(next, 1)).rejects.toMatchObject({ code: 'Conflict' });
    expect(winner.latestVersion).toBe(2);
    const kept = await (other.getKey?.(keyId, 2) ?? never());
    expect(hex(kept.material)).not.toBe(hex(material));
    expect((await admin.read(`${pathPrefix}${keyId}`))?.version).toBe(2);
  });

  it('a rotation that loses the check-and-set is retried from a fresh read; with every retry lost it is Conflict', async () => {
    const keyId = newKeyId();
    const other = await createVaultProvider(options);
    await other.createKey?.(keyId);
    const paths = kvPaths(options.mount, pathPrefix);
    const client = createVaultClient({ endpoint: options.endpoint, token: () => options.auth.token });

    // Another writer gets in before our first write only.
    let raced = 0;
    const once = createMaterialProvider(
      createKvStore(
        racingClient(client, async () => {
          if (raced++ === 0) await other.rotateKey?.(keyId);
        }),
        paths,
      ),
    );
    expect((await (once.rotateKey?.(keyId) ?? never())).latestVersion).toBe(3);
    const versions = await Promise.all(
      [1, 2, 3].map(async (v) => hex((await (other.getKey?.(keyId, v) ?? never())).material)),
    );
    expect(new Set(versions).size).toBe(3);

    // Another writer gets in before every write: bounded retries, then Conflict; nothing of ours landed.
    let rivals = 0;
    const always: KeyProvider = createMaterialProvider(
      createKvStore(
        racingClient(client, async () => {
          rivals++;
          await other.rotateKey?.(keyId);
        }),
        paths,
      ),
    );
    await expect(always.rotateKey?.(keyId)).rejects.toMatchObject({ code: 'Conflict' });
    expect(rivals).toBe(100);
    expect((await (other.listVersions?.(keyId) ?? never())).length).toBe(3 + rivals);
  }, 60_000);

  it('two processes rotating one key at once lose no version', async () => {
    const keyId = newKeyId();
    const provider = await createVaultProvider(options);
    await provider.createKey?.(keyId);
    const rotations = 10;
    const script = fileURLToPath(new URL('./fixtures/kv-rotate-child.mjs', import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, [script], {
        env: {
          ...process.env,
          endpoint: options.endpoint,
          token: options.auth.token,
          mount: options.mount,
          pathPrefix,
          KEY_ID: keyId,
          ROTATIONS: String(rotations),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 60_000,
      }),
    );
    const outputs = children.map((child) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      const ready = new Promise<void>((resolve) => {
        const check = () => (out.includes('ready\n') ? resolve() : child.stdout.once('data', check));
        check();
      });
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, out, err })),
      );
      return { child, ready, done };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const o of outputs) o.child.stdin.write('go\n');
    const finished = await Promise.all(outputs.map((o) => o.done));
    const reports = finished.map(({ code, out, err }) => {
      expect(code, err).toBe(0);
      return JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
        versions: number[];
        errors: string[];
        casLosses: number;
      };
    });
    for (const r of reports) {
      expect(r.errors).toEqual([]);
      expect(r.versions).toHaveLength(rotations);
      expect(new Set(r.versions).size).toBe(rotations);
    }
    // The race happened (writes were refused by check-and-set), and no rotation was lost to it.
    expect(reports.reduce((sum, r) => sum + r.casLosses, 0)).toBeGreaterThan(0);
    const all = reports.flatMap((r) => r.versions).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 2 * rotations }, (_, i) => i + 2));
    const metadata = (await provider.listKeys?.())?.find((k) => k.keyId === keyId);
    expect(metadata?.latestVersion).toBe(1 + 2 * rotations);
    const versions = (await provider.listVersions?.(keyId)) ?? never();
    expect(versions.map((v) => v.version)).toEqual(
      Array.from({ length: 1 + 2 * rotations }, (_, i) => i + 1),
    );
    const materials = await Promise.all(
      versions.map(async (v) => hex((await (provider.getKey?.(keyId, v.version) ?? never())).material)),
    );
    expect(new Set(materials).size).toBe(1 + 2 * rotations);
    expect((await admin.read(`${pathPrefix}${keyId}`))?.version).toBe(1 + 2 * rotations);
  }, 90_000);
});
