import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createKeystore } from '@keystore/core';
import type { KeyProvider, ProviderDefinition } from '@keystore/core/provider';
import { type PrivateOpenBao, startPrivateOpenBao } from '@keystore/test-infra/private-openbao';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultProvider, keystoreProvider, type VaultProviderOptions } from '../src/index.js';

/** Two private servers with TLS listeners: one that takes any client, one that requires a client certificate. */
let open: PrivateOpenBao;
let mutual: PrivateOpenBao;

beforeAll(async () => {
  [open, mutual] = await Promise.all([
    startPrivateOpenBao({ tls: true }),
    startPrivateOpenBao({ tls: { requireClientCert: true } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([open?.stop(), mutual?.stop()]);
});

const context = { id: 'tls' };
const tlsOf = (bao: PrivateOpenBao) => {
  if (bao.tls === undefined) throw new Error('no TLS listener');
  return bao.tls;
};
const must = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('missing');
  return value;
};

async function roundTrip(provider: KeyProvider, keyId: string): Promise<void> {
  await must(provider.createKey)(keyId);
  const { plaintext, wrapped } = await must(provider.generateDataKey)({ keyId, length: 32, context });
  expect(await provider.unwrapKey({ ...wrapped, context })).toEqual(plaintext);
  await provider.close?.();
}

/** The call's error, how long it took, and that it holds no token. */
async function failure(bao: PrivateOpenBao, options: Omit<VaultProviderOptions, 'auth'>) {
  const provider = await createVaultProvider({ ...options, auth: { method: 'token', token: bao.rootToken } });
  const start = performance.now();
  const error = await must(provider.listVersions)('any').then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - start;
  await provider.close?.();
  expect(error).toBeDefined();
  expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(bao.rootToken);
  return { error: error as Error & { code?: string }, ms };
}

describe('TLS', () => {
  it('works with caFile and serverName (the endpoint is an IP address the certificate does not name)', async () => {
    const tls = tlsOf(open);
    const provider = await createVaultProvider({
      endpoint: tls.addr,
      auth: { method: 'token', token: open.rootToken },
      tls: { caFile: tls.caFile, serverName: tls.serverName },
    });
    await roundTrip(provider, 'tls-1');
    const noName = await failure(open, { endpoint: tls.addr, tls: { caFile: tls.caFile } });
    expect(noName.error.message).toMatch(/does not name the server \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('fails clearly, at once, with the wrong CA, with no CA (Node trust store), and with a server name the certificate lacks', async () => {
    const tls = tlsOf(open);
    const wrongCa = await failure(open, { endpoint: tls.addr, tls: { caFile: tls.otherCaFile } });
    expect(wrongCa.error).toMatchObject({ code: 'ProviderUnavailable' });
    expect(wrongCa.error.message).toMatch(/certificate is not trusted.*tls\.caFile/);
    expect(wrongCa.ms).toBeLessThan(300); // not retried: a certificate does not fix itself

    const noCa = await failure(open, { endpoint: tls.addr });
    expect(noCa.error).toMatchObject({ code: 'ProviderUnavailable' });
    expect(noCa.error.message).toMatch(/certificate is not trusted/);

    const wrongName = await failure(open, {
      endpoint: tls.addr,
      tls: { caFile: tls.caFile, serverName: 'other.keystore.test' },
    });
    expect(wrongName.error.message).toMatch(/does not name the server \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('mutual TLS: works with certFile and keyFile; without a client certificate it fails, saying so', async () => {
    const tls = tlsOf(mutual);
    await roundTrip(
      await createVaultProvider({
        endpoint: tls.addr,
        auth: { method: 'token', token: mutual.rootToken },
        tls: {
          caFile: tls.caFile,
          serverName: tls.serverName,
          certFile: tls.clientCertFile,
          keyFile: tls.clientKeyFile,
        },
      }),
      'mtls-1',
    );
    const without = await failure(mutual, {
      endpoint: tls.addr,
      tls: { caFile: tls.caFile, serverName: tls.serverName },
    });
    expect(without.error).toMatchObject({ code: 'ProviderUnavailable' });
    expect(without.error.message).toMatch(/TLS connection failed.*client certificate/);
  });

  it('through createKeystore: the tls block, with the client key as a secret reference', async () => {
    const tls = tlsOf(mutual);
    const keystore = await createKeystore(
      {
        provider: {
          type: 'vault',
          endpoint: tls.addr,
          mode: 'transit',
          auth: { method: 'token', token: { env: 'T' } },
          tls: {
            caFile: tls.caFile,
            certFile: tls.clientCertFile,
            key: { env: 'K' },
            serverName: tls.serverName,
          },
        },
        defaultKey: 'mtls-2',
      },
      {
        env: { T: mutual.rootToken, K: readFileSync(tls.clientKeyFile, 'utf8') },
        providers: { vault: keystoreProvider as ProviderDefinition<never> },
      },
    );
    await keystore.createKey('mtls-2');
    const envelope = await keystore.encrypt('lab result', { context });
    expect(new TextDecoder().decode(await keystore.decrypt(envelope, { context }))).toBe('lab result');
    await keystore.close();
  });

  it('configuration errors at creation: unreadable file, a certificate without its key, a key that is not its pair, http://', async () => {
    const tls = tlsOf(mutual);
    const create = (options: Omit<VaultProviderOptions, 'auth'>) =>
      createVaultProvider({ ...options, auth: { method: 'token', token: mutual.rootToken } });
    await expect(
      create({ endpoint: tls.addr, tls: { caFile: `${tls.caFile}.missing` } }),
    ).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/tls\.caFile: file .* cannot be read \(ENOENT\)/),
    });
    await expect(create({ endpoint: tls.addr, tls: { certFile: tls.clientCertFile } })).rejects.toMatchObject(
      {
        code: 'ConfigError',
        message: expect.stringMatching(/tls\.certFile: a client certificate needs its private key/),
      },
    );
    await expect(create({ endpoint: tls.addr, tls: { keyFile: tls.clientKeyFile } })).rejects.toMatchObject({
      code: 'ConfigError',
    });
    await expect(
      create({
        endpoint: tls.addr,
        tls: { certFile: tls.clientCertFile, keyFile: `${mutual.dir}/server.key` },
      }),
    ).rejects.toMatchObject({ code: 'ConfigError', message: expect.stringMatching(/does not match/) });
    await expect(create({ endpoint: tls.addr, tls: { caFile: tls.clientKeyFile } })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/not a PEM certificate/),
    });
    await expect(create({ endpoint: mutual.addr, tls: { caFile: tls.caFile } })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/http:\/\//),
    });
    // The message never quotes the key it could not use.
    const error = await create({
      endpoint: tls.addr,
      tls: { certFile: tls.clientCertFile, keyFile: `${mutual.dir}/server.key` },
    }).catch((e: Error) => e);
    const keyBody = readFileSync(`${mutual.dir}/server.key`, 'utf8').split('\n')[1] ?? 'none';
    expect(String((error as Error).message)).not.toContain(keyBody);
  });

  it('with NODE_DEBUG=http,https,tls,net and DEBUG=*, nothing printed holds the token or the client key (needs pnpm build)', () => {
    const tls = tlsOf(mutual);
    const script = fileURLToPath(new URL('./fixtures/tls-debug-child.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [script], {
      env: {
        ...process.env,
        endpoint: tls.addr,
        token: mutual.rootToken,
        caFile: tls.caFile,
        certFile: tls.clientCertFile,
        keyFile: tls.clientKeyFile,
        serverName: tls.serverName,
        KEY_ID: 'mtls-debug',
        DEBUG: '*',
        NODE_DEBUG: 'request,http,https,tls,net,fetch,undici',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const output = `${child.stdout}\n${child.stderr}`;
    expect(child.status, output).toBe(0);
    expect(child.stdout).toContain('DONE');
    expect(output).toMatch(/HTTP \d+: /); // the debug output was on
    expect(output).not.toContain(mutual.rootToken);
    const keyLines = readFileSync(tls.clientKeyFile, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'));
    for (const line of keyLines) expect(output).not.toContain(line);
    expect(output).not.toContain('PRIVATE KEY');
  });
});
