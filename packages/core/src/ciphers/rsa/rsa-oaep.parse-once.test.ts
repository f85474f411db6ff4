import * as crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RsaOaep } from './rsa-oaep.js';

/**
 * Keys are parsed once, in the constructor: encrypt and decrypt hand OpenSSL
 * the cached KeyObjects and never parse key material again.
 */
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    createPublicKey: vi.fn(actual.createPublicKey),
    createPrivateKey: vi.fn(actual.createPrivateKey),
    publicEncrypt: vi.fn(actual.publicEncrypt),
    privateDecrypt: vi.fn(actual.privateDecrypt),
  };
});

afterEach(() => {
  vi.clearAllMocks();
});

describe('RsaOaep key parsing', () => {
  it('happens in the constructor only, never per call', () => {
    const pair = RsaOaep.generateKeyPair();
    const rsa = new RsaOaep({
      publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    expect(vi.mocked(crypto.createPrivateKey)).toHaveBeenCalled();
    vi.clearAllMocks();

    for (const message of ['short', 'long'.repeat(100)]) {
      for (let i = 0; i < 3; i++)
        expect(new TextDecoder().decode(rsa.decrypt(rsa.encrypt(message)))).toBe(message);
    }
    expect(vi.mocked(crypto.createPublicKey)).not.toHaveBeenCalled();
    expect(vi.mocked(crypto.createPrivateKey)).not.toHaveBeenCalled();
    const encryptKeys = vi
      .mocked(crypto.publicEncrypt)
      .mock.calls.map(([options]) => (options as { key: unknown }).key);
    const decryptKeys = vi
      .mocked(crypto.privateDecrypt)
      .mock.calls.map(([options]) => (options as { key: unknown }).key);
    expect(encryptKeys).toHaveLength(6);
    expect(decryptKeys).toHaveLength(6);
    for (const key of [...encryptKeys, ...decryptKeys]) expect(key).toBeInstanceOf(crypto.KeyObject);
    expect(new Set(encryptKeys).size).toBe(1);
    expect(new Set(decryptKeys).size).toBe(1);
  });
});
