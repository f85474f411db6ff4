import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultProvider } from '../src/index.js';
import { transitName } from '../src/transit/names.js';

/**
 * A key id is never a path: `.` and `..` are refused like `/`, because the
 * request URL is normalized (`transit/keys/./rotate` goes out as
 * `transit/keys/rotate`, which would upsert a key named `rotate`).
 */
const paths: string[] = [];
const server = createServer((request, response) => {
  paths.push(request.url ?? '');
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"data":{}}');
});
let endpoint = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('Transit key names', () => {
  it.each(['.', '..'])('%s is not a key name', (keyId) => {
    expect(() => transitName(keyId)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it.each(['.', '..'])('rotateKey(%j) and retireVersionsBelow send nothing to Vault', async (keyId) => {
    const p = await createVaultProvider({ endpoint, auth: { method: 'token', token: 'unused' } });
    try {
      paths.length = 0;
      await expect(p.rotateKey?.(keyId)).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(p.retireVersionsBelow(keyId, 1)).rejects.toMatchObject({ code: 'InvalidArgument' });
      const context = { id: '1' };
      await expect(
        p.unwrapKeys?.([{ keyId, version: 1, ciphertext: Buffer.from('vault:v1:AAAA'), context }]),
      ).resolves.toEqual([expect.objectContaining({ code: 'InvalidArgument' })]);
      expect(paths).toEqual([]);
    } finally {
      await p.close();
    }
  });
});
