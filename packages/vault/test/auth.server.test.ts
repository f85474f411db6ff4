import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardProvider, type KeyProvider } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createVaultProvider, type VaultProviderOptions } from '../src/index.js';
import {
  type RecordingProxy,
  type RecordingProxyOptions,
  startRecordingProxy,
} from './fixtures/recording-proxy.js';
import { setUpAppRole, transitPolicy, vaultAdmin } from './fixtures/vault-admin.js';

const vault = await requireService('vault');
const endpoint = vault.env.VAULT_ADDR ?? '';
const admin = vaultAdmin(endpoint, vault.env.VAULT_TOKEN ?? '');
const prefix = `auth-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = { table: 'patients', id: '4711' };

const LOGIN = /^auth\/approle-[0-9a-f]+\/login$/;
const RENEW = /^auth\/token\/renew-self$/;
const LOOKUP = /^auth\/token\/lookup-self$/;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function proxy(options?: RecordingProxyOptions): Promise<RecordingProxy> {
  const started = await startRecordingProxy(endpoint, options);
  cleanups.push(() => started.close());
  return started;
}

async function provider(options: VaultProviderOptions): Promise<KeyProvider> {
  const created = await createVaultProvider(options);
  cleanups.push(() => created.close());
  return created;
}

/** A data key made and unwrapped again: a Transit round trip. */
async function roundTrip(p: KeyProvider, keyId: string): Promise<void> {
  const { plaintext, wrapped } = await (p.generateDataKey?.({ keyId, length: 32, context }) ?? never());
  expect(await p.unwrapKey({ ...wrapped, context })).toEqual(plaintext);
}

/** A key made with the root token, so that the role needs no createKey rights. */
async function transitKey(): Promise<string> {
  const keyId = newKeyId();
  await admin.request('POST', `transit/keys/${keyId}`, { type: 'aes256-gcm96', derived: true });
  return keyId;
}

async function tokenAlive(token: string): Promise<boolean> {
  try {
    await admin.request('POST', 'auth/token/lookup', { token });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(vault.skip)('vault auth against OpenBao', () => {
  it('AppRole: logs in, makes a Transit round trip; a plain permission denied is AccessDenied without a new login', async () => {
    const keyId = newKeyId();
    const role = await setUpAppRole(admin, keyId);
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    await p.createKey?.(keyId);
    await roundTrip(p, keyId);
    expect(recorder.count(LOGIN)).toBe(1);

    // Another key: the token is valid, its policy just does not allow it.
    const other = await transitKey();
    await expect(p.generateDataKey?.({ keyId: other, length: 32, context })).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    expect(recorder.count(LOGIN)).toBe(1);
    expect(recorder.count(LOOKUP)).toBe(1); // the one question: is the token still valid?
    expect(recorder.count(new RegExp(`datakey/plaintext/${other}$`))).toBe(1); // no retry
  });

  it('a wrong secret id is AccessDenied, and the message holds neither id', async () => {
    const keyId = newKeyId();
    const role = await setUpAppRole(admin, keyId);
    const p = await provider({
      endpoint,
      auth: { method: 'approle', roleId: role.roleId, secretId: 'not-the-secret-id', mount: role.mount },
    });
    const error = await p.generateDataKey?.({ keyId, length: 32, context }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AccessDenied', message: expect.stringMatching(/AppRole login/) });
    expect(String((error as Error).message)).not.toContain(role.roleId);
    expect(JSON.stringify(error)).not.toContain('not-the-secret-id');
  });

  it('a refused login is not repeated on every request: failed logins back off (1 s, doubling)', async () => {
    const keyId = newKeyId();
    const role = await setUpAppRole(admin, keyId);
    const recorder = await proxy();
    const p = await provider({
      endpoint: recorder.url,
      auth: { method: 'approle', roleId: role.roleId, secretId: 'not-the-secret-id', mount: role.mount },
    });
    const started = performance.now();
    let calls = 0;
    while (performance.now() - started < 1_500) {
      await expect(p.generateDataKey?.({ keyId, length: 32, context })).rejects.toMatchObject({
        code: 'AccessDenied',
      });
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(calls).toBeGreaterThan(20);
    // One login at once, one after the 1 s backoff: not one per request.
    expect(recorder.count(LOGIN)).toBeLessThanOrEqual(2);
  });

  it('concurrent first requests share one login; after the token is revoked, concurrent requests share one new login and each retries once', async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId);
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    await Promise.all(Array.from({ length: 20 }, () => roundTrip(p, keyId)));
    expect(recorder.count(LOGIN)).toBe(1);

    await admin.request('POST', 'auth/token/revoke', { token: recorder.tokens[0] });
    const before = recorder.count(/datakey\/plaintext/);
    await Promise.all(Array.from({ length: 10 }, () => roundTrip(p, keyId)));
    expect(recorder.count(LOGIN)).toBe(2);
    // Ten requests, each at most once more.
    expect(recorder.count(/datakey\/plaintext/) - before).toBeLessThanOrEqual(20);
    expect(recorder.tokens).toHaveLength(2);
  });

  it.concurrent('a static renewable token with a 4 s TTL keeps working after 10 s (renewed)', async () => {
    const keyId = await transitKey();
    const policy = `transit-${randomBytes(4).toString('hex')}`;
    await admin.request('PUT', `sys/policies/acl/${policy}`, { policy: transitPolicy(keyId) });
    const created = (await admin.request('POST', 'auth/token/create', {
      ttl: '4s',
      renewable: true,
      policies: [policy, 'default'],
    })) as { auth: { client_token: string } };
    const token = created.auth.client_token;
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'token', token } });
    await roundTrip(p, keyId);
    await sleep(10_000); // idle: only the timer renews it
    await roundTrip(p, keyId);
    expect(recorder.count(RENEW)).toBeGreaterThanOrEqual(3);
    await p.close();
    expect(await tokenAlive(token)).toBe(true); // not ours: never revoked
  });

  it.concurrent('a static token that is not renewable is used as it is (no renewal)', async () => {
    const keyId = await transitKey();
    const policy = `transit-${randomBytes(4).toString('hex')}`;
    await admin.request('PUT', `sys/policies/acl/${policy}`, { policy: transitPolicy(keyId) });
    const created = (await admin.request('POST', 'auth/token/create', {
      ttl: '6s',
      renewable: false,
      policies: [policy, 'default'],
    })) as { auth: { client_token: string } };
    const recorder = await proxy();
    const p = await provider({
      endpoint: recorder.url,
      auth: { method: 'token', token: created.auth.client_token },
    });
    await roundTrip(p, keyId);
    await sleep(4_500); // past 2/3 of its TTL
    await roundTrip(p, keyId);
    expect(recorder.count(RENEW)).toBe(0);
  });

  it.concurrent('renewal capped by the max TTL leads to a fresh AppRole login; requests keep working throughout', async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId, { token_ttl: '4s', token_max_ttl: '6s' });
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      await roundTrip(p, keyId);
      await sleep(700);
    }
    expect(recorder.count(RENEW)).toBeGreaterThanOrEqual(1);
    expect(recorder.count(LOGIN)).toBeGreaterThanOrEqual(2);
    // Once a renewal grants less than the TTL (the max TTL is near), the next refresh is a login:
    // no token is renewed again after a capped renewal, and no renewal is refused.
    const renewals = recorder.requests.filter((r) => RENEW.test(r.path));
    expect(renewals.filter((r) => r.status !== 200)).toEqual([]);
    const renewedAfterCap = renewals.filter((r, i) =>
      renewals.slice(0, i).some((earlier) => earlier.token === r.token && (earlier.leaseDuration ?? 0) < 4),
    );
    expect(renewedAfterCap).toEqual([]);
    // Every Transit request was answered 200: no request met an expired token.
    expect(recorder.requests.filter((r) => r.path.startsWith('transit/') && r.status !== 200)).toEqual([]);
  });

  it.concurrent('a renewal refused (token revoked) leads to a fresh AppRole login, before any request needs it', async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId, { token_ttl: '3s', token_max_ttl: '1h' });
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    await roundTrip(p, keyId);
    await admin.request('POST', 'auth/token/revoke', { token: recorder.tokens[0] });
    await sleep(3_000); // the timer renews at 2 s: refused, so it logs in
    expect(recorder.requests.filter((r) => RENEW.test(r.path)).map((r) => r.status)).toContain(403);
    expect(recorder.count(LOGIN)).toBe(2);
    const transitBefore = recorder.count(/^transit\//);
    await roundTrip(p, keyId);
    expect(recorder.count(/^transit\//) - transitBefore).toBe(2); // no 403 and retry
  });

  it.concurrent("the renewal timer runs outside the guarded call that scheduled it (renews after that call's deadline)", async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId, { token_ttl: '3s', token_max_ttl: '1h' });
    const recorder = await proxy();
    // As createKeystore uses it: every call has a deadline (here 500 ms), long past when the timer fires at 2 s.
    const p = guardProvider(
      await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } }),
      {
        timeoutMs: 500,
      },
    );
    await roundTrip(p, keyId);
    await sleep(2_800); // idle: only the timer can renew
    expect(recorder.requests.filter((r) => RENEW.test(r.path)).map((r) => r.status)).toEqual([200]);
  });

  it("a shared login runs on its own time, not the first caller's: a caller with little time fails alone, one with time gets the same login", async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId);
    const recorder = await proxy({ delayMs: (path) => (LOGIN.test(path) ? 400 : 0) });
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    const hurried = guardProvider(p, { timeoutMs: 150 });
    const patient = guardProvider(p, { timeoutMs: 10_000 });
    // The hurried caller starts the login (slowed to 400 ms); the patient one joins it.
    const first = hurried.generateDataKey?.({ keyId, length: 32, context }).catch((e: unknown) => e);
    await sleep(20);
    await roundTrip(patient, keyId);
    expect(await first).toMatchObject({ code: 'ProviderUnavailable' });
    expect(recorder.count(LOGIN)).toBe(1);
    await roundTrip(hurried, keyId); // the token is there now
    expect(recorder.count(LOGIN)).toBe(1);
  });

  it.concurrent('a token replaced by a new login (capped renewal) is revoked once the new one is adopted', async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId, { token_ttl: '3s', token_max_ttl: '4s' });
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    await roundTrip(p, keyId);
    // The timer renews at 2 s (granted 2 s of the 3: capped), and logs in at about 3.3 s.
    await until(() => recorder.count(LOGIN) === 2, 6_000);
    const old = recorder.tokens[0] ?? '';
    await until(
      () => recorder.requests.some((r) => r.path === 'auth/token/revoke-self' && r.token === old),
      3_000, // detached, so a loaded machine may take a while; bounded by the revoke timeout (5 s)
    );
    expect(await tokenAlive(old)).toBe(false); // before its max TTL (4 s) would have ended it
    expect(await tokenAlive(recorder.tokens[1] ?? '')).toBe(true);
    await roundTrip(p, keyId);
  });

  it('close() revokes a token it logged in for', async () => {
    const keyId = await transitKey();
    const role = await setUpAppRole(admin, keyId);
    const recorder = await proxy();
    const p = await createVaultProvider({ endpoint: recorder.url, auth: { method: 'approle', ...role } });
    await roundTrip(p, keyId);
    const token = recorder.tokens[0] ?? '';
    expect(await tokenAlive(token)).toBe(true);
    await p.close();
    expect(await tokenAlive(token)).toBe(false);
    await expect(p.generateDataKey?.({ keyId, length: 32, context })).rejects.toMatchObject({
      code: 'Closed',
    });
  });

  it('namespace: login, renewal and Transit all go to the namespace (X-Vault-Namespace on every request)', async () => {
    const namespace = `ks-${randomBytes(4).toString('hex')}`;
    await admin.request('POST', `sys/namespaces/${namespace}`, {});
    cleanups.push(() => admin.request('DELETE', `sys/namespaces/${namespace}`));
    await admin.request('POST', 'sys/mounts/transit', { type: 'transit' }, namespace);
    const keyId = newKeyId();
    const role = await setUpAppRole(admin, keyId, { token_ttl: '3s', token_max_ttl: '1h' }, namespace);
    const recorder = await proxy();
    const p = await provider({ endpoint: recorder.url, namespace, auth: { method: 'approle', ...role } });
    await p.createKey?.(keyId);
    await roundTrip(p, keyId);
    await sleep(2_500); // the timer renews at 2 s
    await roundTrip(p, keyId);
    expect(recorder.count(LOGIN)).toBe(1);
    expect(recorder.count(RENEW)).toBeGreaterThanOrEqual(1);
    expect(recorder.requests.filter((r) => r.namespace !== namespace)).toEqual([]);
    // Only createKey's look for the key before making it answers 404.
    expect(
      recorder.requests.filter((r) => r.status >= 400).map((r) => `${r.method} ${r.path} ${r.status}`),
    ).toEqual([`GET transit/keys/${keyId} 404`]);
    // The key is in the namespace's Transit, not the root one.
    await expect(admin.request('GET', `transit/keys/${keyId}`)).rejects.toThrow(/404/);
    await admin.request('GET', `transit/keys/${keyId}`, undefined, namespace);
  });
});

/** Waits for `done`, or fails after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > ms) throw new Error(`not done within ${ms} ms`);
    await sleep(20);
  }
}

function never(): never {
  throw new Error('capability missing');
}
