import { generateKeyPairSync, type JsonWebKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidKey } from '../../errors/invalid-key.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import type { RsaKeyPair } from './key-pair.js';
import { RsaOaep } from './rsa-oaep.js';
import { RsaOaepWebEncryptor } from './web-encryptor.js';

/**
 * The browser side, run on Node's WebCrypto (globalThis.crypto.subtle, the
 * same API browsers offer): what it encrypts, RsaOaep.decrypt reads.
 */
const subtle = globalThis.crypto.subtle;
const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
const WEB_HASH = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

let pair: RsaKeyPair;
let server: RsaOaep;

beforeAll(async () => {
  pair = await RsaOaep.generateKeyPairAsync();
  server = new RsaOaep(pair);
});

function bytes(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

async function invalidKey(promise: Promise<unknown>): Promise<InvalidKey> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidKey);
  return error as InvalidKey;
}

describe('RsaOaepWebEncryptor → RsaOaep.decrypt', () => {
  describe.each(HASHES)('%s', (hash) => {
    it.each([
      ['no label', undefined],
      ['a label', 'tenant=42'],
    ])('raw and hybrid, %s', async (_name, label) => {
      const receiver = new RsaOaep({ privateKey: pair.privateKey, hash, label });
      const browser = await RsaOaepWebEncryptor.fromJwk(receiver.exportPublicKey('jwk'), { hash, label });
      expect(browser.algorithm).toBe(receiver.algorithm);
      expect(browser.modulusLength).toBe(2048);
      expect(browser.maxOaepPayload).toBe(receiver.maxOaepPayload);
      const max = receiver.maxOaepPayload;
      for (const [size, length] of [
        [0, 256],
        [1, 256],
        [max, 256],
        [max + 1, 256 + 29 + max + 1],
        [1024 * 1024, 256 + 29 + 1024 * 1024],
      ] as const) {
        const message = bytes(size);
        const ciphertext = await browser.encrypt(message);
        expect(ciphertext).toHaveLength(length);
        expect(hex(receiver.decrypt(ciphertext))).toBe(hex(message));
      }
    });
  });

  it('imports SPKI DER, SPKI PEM and a CryptoKey too', async () => {
    const spki = server.exportPublicKey('der');
    const fromCryptoKey = await subtle.importKey(
      'spki',
      new Uint8Array(spki),
      { name: 'RSA-OAEP', hash: 'SHA-256' },
      false,
      ['encrypt'],
    );
    const encryptors = await Promise.all([
      RsaOaepWebEncryptor.fromSpki(spki),
      RsaOaepWebEncryptor.fromSpki(new Uint8Array(spki).buffer),
      RsaOaepWebEncryptor.fromPem(server.exportPublicKey('pem')),
      RsaOaepWebEncryptor.fromCryptoKey(fromCryptoKey),
    ]);
    for (const browser of encryptors) {
      expect(new TextDecoder().decode(server.decrypt(await browser.encrypt('hello server')))).toBe(
        'hello server',
      );
    }
  });

  it("hybrid: 'always' gives the hybrid format for short messages", async () => {
    const browser = await RsaOaepWebEncryptor.fromJwk(server.exportPublicKey('jwk'), { hybrid: 'always' });
    const ciphertext = await browser.encrypt('short');
    expect(ciphertext).toHaveLength(256 + 29 + 5);
    expect(ciphertext[0]).toBe(0x01);
    expect(new TextDecoder().decode(server.decrypt(ciphertext))).toBe('short');
  });

  it('its ciphertexts fail under another label or hash, and when tampered', async () => {
    const browser = await RsaOaepWebEncryptor.fromJwk(server.exportPublicKey('jwk'), { label: 'a' });
    for (const message of [bytes(10), bytes(500)]) {
      const ciphertext = await browser.encrypt(message);
      expect(() => server.decrypt(ciphertext)).toThrow(InvalidToken);
      expect(() => new RsaOaep({ ...pair, label: 'b' }).decrypt(ciphertext)).toThrow(InvalidToken);
      const tampered = Uint8Array.from(ciphertext);
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
      expect(() => new RsaOaep({ ...pair, label: 'a' }).decrypt(tampered)).toThrow(InvalidToken);
      expect(hex(new RsaOaep({ ...pair, label: 'a' }).decrypt(ciphertext))).toBe(hex(message));
    }
  });
});

describe('RsaOaep → WebCrypto (the formats are standard)', () => {
  async function webPrivateKey(hash: (typeof HASHES)[number]): Promise<CryptoKey> {
    const jwk = pair.privateKey.export({ format: 'jwk' });
    return subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: WEB_HASH[hash] }, false, ['decrypt']);
  }

  it.each(HASHES)('WebCrypto decrypts our raw OAEP (%s, with a label)', async (hash) => {
    const label = new TextEncoder().encode('ctx');
    const message = bytes(40);
    const ciphertext = new Uint8Array(
      new RsaOaep({ publicKey: pair.publicKey, hash, label }).encrypt(message),
    );
    const plain = await subtle.decrypt({ name: 'RSA-OAEP', label }, await webPrivateKey(hash), ciphertext);
    expect(hex(new Uint8Array(plain))).toBe(hex(message));
  });

  it('WebCrypto opens our hybrid format, following only the README', async () => {
    const message = bytes(5000);
    // A copy typed Uint8Array<ArrayBuffer>, as WebCrypto's TypeScript types want.
    const ciphertext = new Uint8Array(server.encrypt(message));
    const k = 256;
    expect(ciphertext[0]).toBe(0x01);
    const dek = await subtle.decrypt(
      { name: 'RSA-OAEP' },
      await webPrivateKey('sha256'),
      ciphertext.subarray(1, 1 + k),
    );
    expect(dek.byteLength).toBe(32);
    const aes = await subtle.importKey('raw', dek, 'AES-GCM', false, ['decrypt']);
    const plain = await subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: ciphertext.subarray(1 + k, 13 + k),
        additionalData: ciphertext.subarray(0, 1 + k),
      },
      aes,
      ciphertext.subarray(13 + k),
    );
    expect(hex(new Uint8Array(plain))).toBe(hex(message));
  });
});

describe('RsaOaepWebEncryptor key checks', () => {
  it('refuses private key material', async () => {
    const privateJwk = pair.privateKey.export({ format: 'jwk' });
    expect((await invalidKey(RsaOaepWebEncryptor.fromJwk(privateJwk))).message).toMatch(/private JWK/);
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const error = await invalidKey(RsaOaepWebEncryptor.fromPem(privatePem));
    expect(error.message).toMatch(/holds a private key/);
    expect(error.message).not.toContain(privatePem.slice(40, 80));
  });

  it('refuses PKCS#1 PEM, which WebCrypto cannot read, saying to use SPKI', async () => {
    const pkcs1 = pair.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect((await invalidKey(RsaOaepWebEncryptor.fromPem(pkcs1))).message).toMatch(/SPKI/);
  });

  it('refuses EC keys, small RSA keys and bad exponents', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await invalidKey(RsaOaepWebEncryptor.fromJwk(ec.publicKey.export({ format: 'jwk' })));
    await invalidKey(RsaOaepWebEncryptor.fromSpki(ec.publicKey.export({ type: 'spki', format: 'der' })));
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const error = await invalidKey(RsaOaepWebEncryptor.fromJwk(small.publicKey.export({ format: 'jwk' })));
    expect(error.message).toBe('RSA-OAEP keys must have a modulus of 2048 to 4096 bits, got 1024');
    const jwk: JsonWebKey = { ...pair.publicKey.export({ format: 'jwk' }), e: 'Aw' }; // e = 3 is fine
    expect((await RsaOaepWebEncryptor.fromJwk(jwk)).modulusLength).toBe(2048);
    await invalidKey(RsaOaepWebEncryptor.fromJwk({ ...jwk, e: 'Ag' }));
  });

  it('refuses a JWK with an even modulus at import', async () => {
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n as string, 'base64url');
    n[n.length - 1] = (n[n.length - 1] ?? 0) & 0xfe;
    const error = await invalidKey(RsaOaepWebEncryptor.fromJwk({ ...jwk, n: n.toString('base64url') }));
    expect(error.message).toMatch(/even modulus/);
  });

  it('checks its options: unknown names and wrong types are InvalidArgument', async () => {
    const jwk = pair.publicKey.export({ format: 'jwk' });
    await expect(RsaOaepWebEncryptor.fromJwk(jwk, { hsah: 'sha1' } as never)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: "RsaOaepWebEncryptor: unknown option 'hsah' (known: hash, label, hybrid)",
    });
    await expect(RsaOaepWebEncryptor.fromJwk(jwk, 'sha1' as never)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    const enc = await RsaOaepWebEncryptor.fromJwk(jwk);
    await expect(enc.encrypt(42 as never)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('refuses a JWK or CryptoKey made for another hash', async () => {
    const jwk = server.exportPublicKey('jwk');
    expect((await invalidKey(RsaOaepWebEncryptor.fromJwk(jwk, { hash: 'sha1' }))).message).toMatch(/alg/);
    const sha1Key = await subtle.importKey(
      'spki',
      new Uint8Array(server.exportPublicKey('der')),
      { name: 'RSA-OAEP', hash: 'SHA-1' },
      false,
      ['encrypt'],
    );
    await invalidKey(RsaOaepWebEncryptor.fromCryptoKey(sha1Key));
    expect((await RsaOaepWebEncryptor.fromCryptoKey(sha1Key, { hash: 'sha1' })).algorithm).toBe(
      'rsa-oaep-sha1',
    );
  });

  it('refuses garbage without echoing it', async () => {
    const garbage = 'not-a-key-secret-looking-garbage';
    for (const attempt of [
      RsaOaepWebEncryptor.fromPem(garbage),
      RsaOaepWebEncryptor.fromPem(
        `-----BEGIN PUBLIC KEY-----\nAAAA${garbage.replace(/-/g, '')}\n-----END PUBLIC KEY-----`,
      ),
      RsaOaepWebEncryptor.fromSpki(new Uint8Array(100)),
      RsaOaepWebEncryptor.fromJwk({ kty: 'RSA' }),
      RsaOaepWebEncryptor.fromJwk(null as unknown as JsonWebKey),
    ]) {
      expect((await invalidKey(attempt)).message).not.toContain(garbage);
    }
  });
});

describe('web-encryptor.ts runs in a browser', () => {
  it('imports nothing from node: and uses no Buffer, in any file it reaches', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const seen = new Set<string>();
    const visit = (path: string): void => {
      if (seen.has(path)) return;
      seen.add(path);
      const source = readFileSync(path, 'utf8');
      expect(source, path).not.toMatch(/from\s+['"]node:|require\(/);
      expect(source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''), path).not.toMatch(/\bBuffer\b/);
      // Type-only imports vanish at build time; follow the ones that load code.
      for (const [, spec] of source.matchAll(/^(?:import|export) (?!type\b)[^;]*? from '(\.[^']+)\.js'/gm)) {
        visit(join(dirname(path), `${spec}.ts`));
      }
    };
    visit(join(here, 'web-encryptor.ts'));
    expect([...seen].map((p) => p.slice(here.length - 'ciphers/rsa'.length))).toEqual(
      expect.arrayContaining(['ciphers/rsa/web-encryptor.ts', 'ciphers/rsa/hybrid-format.ts']),
    );
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });
});
