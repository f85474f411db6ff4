import { describe, expect, it } from 'vitest';
import { mapVaultError, VaultTransportError } from '../src/errors.js';

/** node-vault's ApiResponseError shape: the status and Vault's body. */
const api = (statusCode: number, ...errors: string[]) =>
  Object.assign(new Error(errors[0] ?? `Status ${statusCode}`), {
    response: { statusCode, body: { errors } },
  });

describe('mapVaultError', () => {
  it.each([
    [new VaultTransportError('network'), 'ProviderUnavailable'],
    [new VaultTransportError('timeout'), 'ProviderUnavailable'],
    [api(503, 'Vault is sealed'), 'ProviderUnavailable'],
    [api(403, 'permission denied'), 'AccessDenied'],
    [api(404), 'KeyNotFound'],
    // Measured on OpenBao 2.7.2: a KV v2 write whose cas is not the current version.
    [api(400, 'check-and-set parameter did not match the current version'), 'Conflict'],
    [api(404, 'no handler for route "nomount/data/x". route entry not found.'), 'ProviderError'],
    [api(400, 'encryption key not found'), 'KeyNotFound'],
    [api(400, 'key not found'), 'KeyNotFound'],
    [api(400, 'invalid ciphertext: version is too new'), 'KeyNotFound'],
    [api(400, 'ciphertext version is disabled'), 'KeyNotFound'],
    [api(400, 'cipher: message authentication failed'), 'InvalidToken'],
    [api(400, 'invalid ciphertext: no prefix'), 'InvalidToken'],
    [api(400, 'something else'), 'ProviderError'],
    [api(500, '1 error occurred:\n\t* transaction commit failed\n\n'), 'ProviderError'],
    [new Error('anything'), 'ProviderError'],
  ])('%s -> %s', (error, code) => {
    expect(mapVaultError(error).code).toBe(code);
  });

  it('never copies the response body into the message, nor keeps it as cause', () => {
    const secret = 'c2VjcmV0LWRhdGEta2V5LWJ5dGVz';
    for (const status of [400, 403, 418, 500, 503]) {
      const mapped = mapVaultError(api(status, `invalid ciphertext ${secret}`));
      expect(mapped.message).not.toContain(secret);
      expect(JSON.stringify(mapped.cause ?? null)).not.toContain(secret);
    }
    expect(mapVaultError(api(418, secret)).message).toBe('Vault answered HTTP 418');
  });
});
