import { describe, expect, it } from 'vitest';
import { mapVaultError, mapVaultItemError, VaultTransportError } from '../src/errors.js';

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
    // sys/health's code for a performance standby: retried (http/retry.ts), then unavailable.
    [api(473), 'ProviderUnavailable'],
    [api(429), 'ProviderUnavailable'],
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
    [api(400, 'ciphertext or signature version is disallowed by policy (too old)'), 'KeyNotFound'],
    [api(400, 'no existing key named k could be found'), 'KeyNotFound'],
    [
      api(400, 'refused JSON input due to high complexity: exceeded maximum number of strings'),
      'ProviderError',
    ],
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

  it('a retired version says so, and how to restore it', () => {
    const retired = api(400, 'ciphertext or signature version is disallowed by policy (too old)');
    expect(mapVaultError(retired).message).toMatch(/retired.*min_decryption_version/);
    expect(
      mapVaultItemError('ciphertext or signature version is disallowed by policy (too old)'),
    ).toMatchObject({
      code: 'KeyNotFound',
      message: expect.stringMatching(/retired.*lowering min_decryption_version restores it/),
    });
  });

  it.each([
    ['cipher: message authentication failed', 'InvalidToken'],
    ['invalid ciphertext: no prefix', 'InvalidToken'],
    ['missing ciphertext to decrypt', 'InvalidToken'],
    ['invalid ciphertext: version is too new', 'KeyNotFound'],
    ['something else', 'ProviderError'],
  ])('batch item error %j -> %s', (message, code) => {
    expect(mapVaultItemError(message).code).toBe(code);
  });

  it('the JSON-limit refusal names the server setting', () => {
    expect(
      mapVaultError(api(400, 'refused JSON input due to high complexity: exceeded maximum number of strings'))
        .message,
    ).toMatch(/max_request_json_strings/);
  });
});
