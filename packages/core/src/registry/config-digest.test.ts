import { describe, expect, it } from 'vitest';
import { configDigest } from './config-digest.js';

describe('configDigest', () => {
  it('is 16 hex digits, the same for the same block whatever its key order', () => {
    const a = configDigest({ type: 'vault', endpoint: 'https://v:8200', mount: 'transit' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(configDigest({ mount: 'transit', endpoint: 'https://v:8200', type: 'vault' })).toBe(a);
    expect(configDigest({ type: 'vault', endpoint: 'https://v:8200', mount: 'transit2' })).not.toBe(a);
  });

  it('leaves inline secret values out (the digest is in cache key names), but not references', () => {
    const block = (token: unknown) => ({
      type: 'vault',
      endpoint: 'https://v:8200',
      auth: { method: 'token', token },
    });
    const weak = configDigest(block({ value: 'hunter2' }));
    expect(configDigest(block({ value: 'correct horse battery staple' }))).toBe(weak);
    // A reference names where the secret is: another name is another deployment's configuration.
    expect(configDigest(block({ env: 'VAULT_TOKEN' }))).not.toBe(configDigest(block({ env: 'OTHER_TOKEN' })));
    expect(configDigest(block({ env: 'VAULT_TOKEN' }))).not.toBe(weak);
    // Only a whole { value } reference is one: an object with more fields is ordinary configuration.
    expect(configDigest({ x: { value: 'a', extra: 1 } })).not.toBe(
      configDigest({ x: { value: 'b', extra: 1 } }),
    );
  });
});
