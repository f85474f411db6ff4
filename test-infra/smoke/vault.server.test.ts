import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requireService } from '../vitest/services.js';

const vault = await requireService('vault');

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${vault.env.VAULT_ADDR}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': vault.env.VAULT_TOKEN as string, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

describe.skipIf(vault.skip)('Vault API (OpenBao dev server) from test-infra', () => {
  it('is initialized and unsealed (sys/health)', async () => {
    const { status, json } = await call('GET', 'sys/health');
    expect(status).toBe(200);
    expect(json).toMatchObject({ initialized: true, sealed: false });
  });

  it('writes and reads a KV v2 secret at secret/', async () => {
    const kv = vault.env.VAULT_KV_MOUNT;
    const path = `smoke/${randomUUID()}`;
    const written = await call('POST', `${kv}/data/${path}`, { data: { material: 'c2VjcmV0' } });
    expect(written.status).toBe(200);
    expect(written.json.data.version).toBe(1);
    const read = await call('GET', `${kv}/data/${path}`);
    expect(read.status).toBe(200);
    expect(read.json.data.data).toEqual({ material: 'c2VjcmV0' });
    expect((await call('DELETE', `${kv}/metadata/${path}`)).status).toBe(204);
  });

  it('encrypts and decrypts with Transit', async () => {
    const transit = vault.env.VAULT_TRANSIT_MOUNT;
    const key = `smoke-${randomUUID()}`;
    expect((await call('POST', `${transit}/keys/${key}`, { type: 'aes256-gcm96' })).status).toBeLessThan(300);
    const plaintext = Buffer.from('hello transit').toString('base64');
    const encrypted = await call('POST', `${transit}/encrypt/${key}`, { plaintext });
    expect(encrypted.status).toBe(200);
    expect(encrypted.json.data.ciphertext).toMatch(/^vault:v1:/);
    const decrypted = await call('POST', `${transit}/decrypt/${key}`, {
      ciphertext: encrypted.json.data.ciphertext,
    });
    expect(decrypted.status).toBe(200);
    expect(Buffer.from(decrypted.json.data.plaintext, 'base64').toString()).toBe('hello transit');
  });
});
