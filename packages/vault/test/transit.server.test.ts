import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, expect, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';
import { startRecordingProxy } from './fixtures/recording-proxy.js';
import { setUpAppRole, vaultAdmin } from './fixtures/vault-admin.js';
import { transitKeystore } from './support/server.js';

const vault = await requireService('vault');
const token = vault.env.VAULT_TOKEN ?? '';
const options = {
  endpoint: vault.env.VAULT_ADDR ?? '',
  auth: { method: 'token', token },
  mount: vault.env.VAULT_TRANSIT_MOUNT ?? 'transit',
} as const;
const prefix = `transit-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711', 'keystore:alg': 'fernet' };

describe.skipIf(vault.skip)('vault transit against OpenBao', () => {
  it('rewraps a context-bound key after rotation, and the rewrapped key needs the same context', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await provider.createKey?.(keyId);
    const { plaintext, wrapped } = await (provider.generateDataKey?.({ keyId, length: 32, context }) ??
      never());
    expect(wrapped.version).toBe(1);
    expect(Buffer.from(wrapped.ciphertext).toString('utf8')).toMatch(/^vault:v1:/);
    expect((await provider.rotateKey?.(keyId))?.latestVersion).toBe(2);
    const rewrapped = await (provider.rewrapKey?.({ ...wrapped, context }) ?? never());
    expect(rewrapped.version).toBe(2);
    expect(await provider.unwrapKey({ ...rewrapped, context })).toEqual(plaintext);
    await expect(
      provider.unwrapKey({ ...rewrapped, context: { ...context, id: '4712' } }),
    ).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(
      provider.rewrapKey?.({ ...wrapped, context: { ...context, id: '4712' } }),
    ).rejects.toMatchObject({
      code: 'InvalidToken',
    });
  });

  it('an envelope made under version 1 still decrypts after rotation; through the createKeystore configuration', async () => {
    const keyId = newKeyId();
    const keystore = await transitKeystore(options, keyId);
    await keystore.createKey(keyId);
    const envelope = await keystore.encrypt('blood type AB+', { context: { id: '1' } });
    await keystore.rotate(keyId);
    expect(keystore.inspect(await keystore.reencrypt(envelope, { context: { id: '1' } }))).toMatchObject({
      version: 2,
    });
    expect(new TextDecoder().decode(await keystore.decrypt(envelope, { context: { id: '1' } }))).toBe(
      'blood type AB+',
    );
    await keystore.close();
  });

  it('an unknown key is KeyNotFound; a key id that is not a Transit name is InvalidArgument', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await expect(provider.generateDataKey?.({ keyId, length: 32, context })).rejects.toMatchObject({
      code: 'KeyNotFound',
    });
    await expect(provider.wrapKey({ keyId, plaintext: new Uint8Array(32), context })).rejects.toMatchObject({
      code: 'KeyNotFound',
    });
    await expect(provider.listVersions?.(keyId)).rejects.toMatchObject({ code: 'KeyNotFound' });
    await expect(provider.listVersions?.('a/../b')).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('with DEBUG=* and NODE_DEBUG set, nothing printed holds a token, the secret id or a data key (token and AppRole login)', async () => {
    const keyId = newKeyId();
    const role = await setUpAppRole(vaultAdmin(options.endpoint, token), keyId);
    const recorder = await startRecordingProxy(options.endpoint);
    const script = fileURLToPath(new URL('./fixtures/debug-child.mjs', import.meta.url));
    // Not spawnSync: the recording proxy runs in this process.
    const child = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        endpoint: options.endpoint,
        token,
        mount: options.mount,
        APPROLE_ENDPOINT: recorder.url,
        ROLE_ID: role.roleId,
        SECRET_ID: role.secretId,
        APPROLE_MOUNT: role.mount,
        DEBUG: '*',
        NODE_DEBUG: 'request,http,net,fetch,undici',
        KEY_ID: keyId,
      },
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [status] = (await once(child, 'close')) as [number | null];
    await recorder.close();
    const output = `${stdout}\n${stderr}`;
    const dataKey = /^DATA_KEY_B64=(\S+)/m.exec(stdout)?.[1];
    const approleKey = /^APPROLE_DATA_KEY_B64=(\S+)/m.exec(stdout)?.[1];
    expect(status, output).toBe(0);
    expect(dataKey).toBeDefined();
    expect(approleKey).toBeDefined();
    expect(recorder.tokens).toHaveLength(1); // the AppRole login's client token
    const printed = output
      .replace(`APPROLE_DATA_KEY_B64=${approleKey}`, '')
      .replace(`DATA_KEY_B64=${dataKey}`, '');
    for (const secret of [token, role.secretId, ...recorder.tokens, dataKey, approleKey]) {
      expect(printed).not.toContain(secret);
    }
  });
});

function never(): never {
  throw new Error('capability missing');
}
