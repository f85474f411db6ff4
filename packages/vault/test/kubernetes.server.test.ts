import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeystore } from '@keystore/core';
import type { ProviderDefinition } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultProvider, keystoreProvider } from '../src/index.js';
import { startRecordingProxy } from './fixtures/recording-proxy.js';
import { transitPolicy, vaultAdmin } from './fixtures/vault-admin.js';

/**
 * Kubernetes auth against the real server: OpenBao's kubernetes method asks
 * a Kubernetes API to review the service account JWT (TokenReview). That API
 * is the one thing stood in for: a small HTTPS endpoint started here, which
 * authenticates the JWTs this test issued and no other. OpenBao checks the
 * JWT's claims against the role itself; without `pem_keys` it does not
 * check the signature, leaving that to the TokenReview, as with a real
 * cluster.
 */
const vault = await requireService('vault');
const endpoint = vault.env.VAULT_ADDR ?? '';
const admin = vaultAdmin(endpoint, vault.env.VAULT_TOKEN ?? '');
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const suffix = randomBytes(4).toString('hex');
const mount = `kubernetes-${suffix}`;
const reviewerJwt = `reviewer-${randomBytes(8).toString('hex')}`;
const context = { id: '7' };

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A service account JWT of the shape the kubelet writes (signature not checked by OpenBao here). */
function serviceAccountJwt(account: string): string {
  return [
    b64({ alg: 'RS256', kid: 'test' }),
    b64({
      iss: 'kubernetes/serviceaccount',
      sub: `system:serviceaccount:apps:${account}`,
      'kubernetes.io/serviceaccount/namespace': 'apps',
      'kubernetes.io/serviceaccount/service-account.name': account,
      'kubernetes.io/serviceaccount/service-account.uid': `uid-${account}`,
      jti: randomBytes(8).toString('hex'),
    }),
    randomBytes(32).toString('base64url'),
  ].join('.');
}

const issued = new Map<string, string>(); // jwt -> account
const reviewed: string[] = [];
let dir = '';
let closeServer: () => void = () => {};

beforeAll(async () => {
  if (vault.skip || !hasOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), 'keystore-k8s-'));
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error('openssl could not make a certificate');
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (request, response) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      const authorized = request.headers.authorization === `Bearer ${reviewerJwt}`;
      const token = (JSON.parse(text || '{}') as { spec?: { token?: string } }).spec?.token ?? '';
      reviewed.push(token);
      const account = issued.get(token);
      response.writeHead(authorized ? 201 : 401, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          status:
            account === undefined
              ? { authenticated: false, error: 'unknown token' }
              : {
                  authenticated: true,
                  user: { username: `system:serviceaccount:apps:${account}`, uid: `uid-${account}` },
                },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeServer = () => server.close();
  const { port } = server.address() as AddressInfo;
  await admin.request('POST', `sys/auth/${mount}`, { type: 'kubernetes' });
  await admin.request('POST', `auth/${mount}/config`, {
    kubernetes_host: `https://127.0.0.1:${port}`,
    kubernetes_ca_cert: cert,
    token_reviewer_jwt: reviewerJwt,
    disable_local_ca_jwt: true,
  });
});

afterAll(async () => {
  closeServer();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  await admin.request('DELETE', `sys/auth/${mount}`).catch(() => {});
});

async function roleFor(account: string, keyId: string): Promise<void> {
  const policy = `transit-${randomBytes(4).toString('hex')}`;
  await admin.request('PUT', `sys/policies/acl/${policy}`, { policy: transitPolicy(keyId) });
  await admin.request('POST', `auth/${mount}/role/${account}`, {
    bound_service_account_names: [account],
    bound_service_account_namespaces: ['apps'],
    token_policies: [policy],
    token_ttl: '60s',
  });
}

describe.skipIf(vault.skip || !hasOpenssl)('vault kubernetes auth against OpenBao', () => {
  it('logs in with the JWT from jwtFile (read again at each login), through the createKeystore configuration', async () => {
    const account = `billing-${suffix}`;
    const keyId = `k8s-${suffix}-1`;
    await roleFor(account, keyId);
    const jwtFile = join(dir, 'token');
    const first = serviceAccountJwt(account);
    issued.set(first, account);
    writeFileSync(jwtFile, `${first}\n`);
    const recorder = await startRecordingProxy(endpoint);
    const keystore = await createKeystore(
      {
        provider: {
          type: 'vault',
          endpoint: recorder.url,
          mode: 'transit',
          auth: { method: 'kubernetes', role: account, jwtFile: 'token', mount },
        },
        defaultKey: keyId,
      },
      { baseDir: dir, providers: { vault: keystoreProvider as ProviderDefinition<never> } },
    );
    try {
      await keystore.createKey(keyId);
      const envelope = await keystore.encrypt('allergy: penicillin', { context });
      expect(new TextDecoder().decode(await keystore.decrypt(envelope, { context }))).toBe(
        'allergy: penicillin',
      );
      expect(reviewed).toEqual([first]);

      // The kubelet rotates the projected token; the old one is revoked in Vault.
      const second = serviceAccountJwt(account);
      issued.set(second, account);
      writeFileSync(jwtFile, second);
      await admin.request('POST', 'auth/token/revoke', { token: recorder.tokens[0] });
      expect(new TextDecoder().decode(await keystore.decrypt(envelope, { context }))).toBe(
        'allergy: penicillin',
      );
      expect(reviewed).toEqual([first, second]);
      expect(recorder.count(new RegExp(`^auth/${mount}/login$`))).toBe(2);
    } finally {
      await keystore.close();
      await recorder.close();
    }
  });

  it('a JWT the TokenReview does not authenticate, or a role it is not bound to, is AccessDenied', async () => {
    const account = `reports-${suffix}`;
    const keyId = `k8s-${suffix}-2`;
    await roleFor(account, keyId);
    const unknown = serviceAccountJwt(account); // never issued: the review says no
    const refused = await createVaultProvider({
      endpoint,
      auth: { method: 'kubernetes', role: account, jwt: () => unknown, mount },
    });
    await expect(refused.listVersions?.(keyId)).rejects.toMatchObject({
      code: 'AccessDenied',
      message: expect.stringMatching(/Kubernetes login/),
    });
    await refused.close();

    const other = serviceAccountJwt(`other-${suffix}`);
    issued.set(other, `other-${suffix}`);
    const unbound = await createVaultProvider({
      endpoint,
      auth: { method: 'kubernetes', role: account, jwt: () => other, mount },
    });
    await expect(unbound.listVersions?.(keyId)).rejects.toMatchObject({ code: 'AccessDenied' });
    await unbound.close();
  });

  it('a missing jwtFile is a ConfigError naming the field, not the contents', async () => {
    const keystore = await createKeystore(
      {
        provider: {
          type: 'vault',
          endpoint,
          mode: 'transit',
          auth: { method: 'kubernetes', role: 'r', jwtFile: join(dir, 'absent'), mount },
        },
        defaultKey: `k8s-${suffix}-3`,
      },
      { providers: { vault: keystoreProvider as ProviderDefinition<never> } },
    );
    await expect(keystore.createKey(`k8s-${suffix}-3`)).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/provider\.auth\.jwtFile: file .*absent cannot be read \(ENOENT\)/),
    });
    await keystore.close();
  });
});
