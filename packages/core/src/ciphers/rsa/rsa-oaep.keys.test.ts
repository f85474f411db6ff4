import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidKey } from '../../errors/invalid-key.js';
import { KeystoreError } from '../../errors/keystore-error.js';
import type { RsaKeyInput } from './key-input.js';
import type { RsaKeyPair } from './key-pair.js';
import { RsaOaep, type RsaOaepOptions } from './rsa-oaep.js';

let pair: RsaKeyPair;
let otherPair: RsaKeyPair;

beforeAll(async () => {
  [pair, otherPair] = await Promise.all([RsaOaep.generateKeyPairAsync(), RsaOaep.generateKeyPairAsync()]);
});

/** Encrypts with a public-only instance and decrypts with a private-only one. */
function expectWorkingPair(publicKey: RsaKeyInput, privateKey: RsaKeyInput): void {
  const message = 'import round trip';
  const sender = new RsaOaep({ publicKey });
  const receiver = new RsaOaep({ privateKey });
  for (const data of [message, message.repeat(20)]) {
    expect(new TextDecoder().decode(receiver.decrypt(sender.encrypt(data)))).toBe(data);
  }
  expect(
    new TextDecoder().decode(new RsaOaep({ publicKey, privateKey }).decrypt(sender.encrypt(message))),
  ).toBe(message);
}

function invalidKey(options: RsaOaepOptions): InvalidKey {
  let thrown: unknown;
  try {
    new RsaOaep(options);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidKey);
  expect((thrown as InvalidKey).code).toBe('InvalidKey');
  return thrown as InvalidKey;
}

/** The base64 body of a PEM, in chunks that a message echoing the key would contain. */
function pemChunks(pem: string): string[] {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return [body.slice(0, 32), body.slice(100, 132), body.slice(-40, -8)];
}

function expectNoEcho(error: Error, chunks: string[]): void {
  const shown = `${error.message}${error.stack}`;
  for (const chunk of chunks) if (chunk.length >= 8) expect(shown).not.toContain(chunk);
}

describe('RsaOaep key import', () => {
  it('PEM: SPKI public and PKCS#8 private', () => {
    expectWorkingPair(
      pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
  });

  it("PEM: PKCS#1 public ('RSA PUBLIC KEY') and private ('RSA PRIVATE KEY')", () => {
    const publicPem = pair.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const privatePem = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(publicPem).toContain('BEGIN RSA PUBLIC KEY');
    expect(privatePem).toContain('BEGIN RSA PRIVATE KEY');
    expectWorkingPair(publicPem, privatePem);
  });

  it('DER: SPKI and PKCS#1 public, PKCS#8 and PKCS#1 private', () => {
    const der = (key: KeyObject, type: 'spki' | 'pkcs1' | 'pkcs8') =>
      new Uint8Array(key.export({ type, format: 'der' } as never) as Buffer);
    expectWorkingPair(der(pair.publicKey, 'spki'), der(pair.privateKey, 'pkcs8'));
    expectWorkingPair(der(pair.publicKey, 'pkcs1'), der(pair.privateKey, 'pkcs1'));
    expectWorkingPair(Buffer.from(der(pair.publicKey, 'spki')), Buffer.from(der(pair.privateKey, 'pkcs8')));
  });

  it('JWK, with or without alg and use', () => {
    const publicJwk = pair.publicKey.export({ format: 'jwk' });
    const privateJwk = pair.privateKey.export({ format: 'jwk' });
    expectWorkingPair(publicJwk, privateJwk);
    expectWorkingPair(
      { ...publicJwk, alg: 'RSA-OAEP-256', use: 'enc' },
      { ...privateJwk, alg: 'RSA-OAEP-256' },
    );
  });

  it('KeyObject, kept as it is', () => {
    expectWorkingPair(pair.publicKey, pair.privateKey);
  });

  it.each(['pkcs8', 'pkcs1'] as const)(
    'an encrypted %s private key: decrypted by the caller first',
    (type) => {
      const encrypted = pair.privateKey.export({
        type,
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'pass phrase',
      }) as string;
      const error = invalidKey({ privateKey: encrypted });
      expect(error.message).toMatch(/encrypted.*passphrase/);
      expectNoEcho(error, pemChunks(encrypted));
      expectWorkingPair(pair.publicKey, createPrivateKey({ key: encrypted, passphrase: 'pass phrase' }));
    },
  );

  it('a JWK whose alg names another hash is refused; it is accepted with that hash', () => {
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), alg: 'RSA-OAEP' };
    expect(invalidKey({ publicKey: jwk }).message).toMatch(
      /alg does not match hash sha256 \(expected RSA-OAEP-256\)/,
    );
    expect(new RsaOaep({ publicKey: jwk, hash: 'sha1' }).algorithm).toBe('rsa-oaep-sha1');
    expect(invalidKey({ publicKey: { ...jwk, alg: 'RSA-OAEP-256', use: 'sig' } }).message).toMatch(/use/);
  });
});

describe('RsaOaep key export', () => {
  let rsa: RsaOaep;
  beforeAll(() => {
    rsa = new RsaOaep(pair);
  });

  it('PEM: SPKI and PKCS#8, identical to what OpenSSL writes, and importable', () => {
    const publicPem = rsa.exportPublicKey('pem');
    const privatePem = rsa.exportPrivateKey('pem');
    expect(rsa.exportPublicKey()).toBe(publicPem);
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(publicPem).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(privatePem).toBe(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expectWorkingPair(publicPem, privatePem);
  });

  it('DER: SPKI and PKCS#8 bytes', () => {
    const publicDer = rsa.exportPublicKey('der');
    const privateDer = rsa.exportPrivateKey('der');
    expect(publicDer).toBeInstanceOf(Uint8Array);
    expect(
      createPublicKey({ key: Buffer.from(publicDer), format: 'der', type: 'spki' }).equals(pair.publicKey),
    ).toBe(true);
    expect(
      createPrivateKey({ key: Buffer.from(privateDer), format: 'der', type: 'pkcs8' }).equals(
        pair.privateKey,
      ),
    ).toBe(true);
    expectWorkingPair(publicDer, privateDer);
  });

  it("JWK: with alg for the hash and use 'enc', and importable", () => {
    const publicJwk = rsa.exportPublicKey('jwk');
    const privateJwk = rsa.exportPrivateKey('jwk');
    expect(publicJwk).toEqual({
      ...pair.publicKey.export({ format: 'jwk' }),
      alg: 'RSA-OAEP-256',
      use: 'enc',
    });
    expect(publicJwk).not.toHaveProperty('d');
    expect(privateJwk).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', use: 'enc' });
    expect(privateJwk.d).toEqual(pair.privateKey.export({ format: 'jwk' }).d);
    expect(new RsaOaep({ privateKey: pair.privateKey, hash: 'sha512' }).exportPublicKey('jwk').alg).toBe(
      'RSA-OAEP-512',
    );
    expectWorkingPair(publicJwk, privateJwk);
  });

  it('a public-only instance has no private key to export', () => {
    const sender = new RsaOaep({ publicKey: pair.publicKey });
    expect(() => sender.exportPrivateKey('pem')).toThrow(KeystoreError);
    expect(() => sender.exportPrivateKey('jwk')).toThrow(/no private key/);
    expect(sender.exportPublicKey('pem')).toBe(rsa.exportPublicKey('pem'));
  });

  it('rejects an unknown format', () => {
    expect(() => rsa.exportPublicKey('xml' as 'pem')).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/format/) }),
    );
  });
});

describe('RsaOaep bad keys: InvalidKey, never echoing the input', () => {
  it('no key at all', () => {
    expect(invalidKey({}).message).toMatch(/needs a publicKey, a privateKey or both/);
  });

  it('public and private keys of different pairs', () => {
    const error = invalidKey({ publicKey: otherPair.publicKey, privateKey: pair.privateKey });
    expect(error.message).toMatch(/do not belong to the same key pair/);
  });

  it.each(['pem', 'der', 'jwk', 'KeyObject'] as const)(
    'private key material given as publicKey (%s)',
    (form) => {
      const inputs: Record<typeof form, RsaKeyInput[]> = {
        pem: ['pkcs8', 'pkcs1'].map(
          (type) => pair.privateKey.export({ type, format: 'pem' } as never) as string,
        ),
        der: ['pkcs8', 'pkcs1'].map(
          (type) => new Uint8Array(pair.privateKey.export({ type, format: 'der' } as never) as Buffer),
        ),
        jwk: [pair.privateKey.export({ format: 'jwk' })],
        KeyObject: [pair.privateKey],
      };
      for (const publicKey of inputs[form]) {
        const error = invalidKey({ publicKey });
        expect(error.message).toMatch(/publicKey holds private key material/);
        if (typeof publicKey === 'string') expectNoEcho(error, pemChunks(publicKey));
      }
    },
  );

  it('a public key given as privateKey', () => {
    for (const privateKey of [
      pair.publicKey,
      pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      pair.publicKey.export({ format: 'jwk' }),
    ]) {
      invalidKey({ privateKey });
    }
  });

  it('a key with an even modulus, at import, as JWK, DER and KeyObject (never an OpenSSL error at encrypt)', () => {
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n as string, 'base64url');
    n[n.length - 1] = (n[n.length - 1] ?? 0) & 0xfe;
    const even = { ...jwk, n: n.toString('base64url') };
    const key = createPublicKey({ key: even, format: 'jwk' });
    for (const publicKey of [
      even,
      key,
      new Uint8Array(key.export({ type: 'spki', format: 'der' })),
      key.export({ type: 'spki', format: 'pem' }) as string,
    ]) {
      expect(invalidKey({ publicKey }).message).toBe(
        'RSA-OAEP publicKey has an even modulus: it is not an RSA key',
      );
    }
    const privateJwk = pair.privateKey.export({ format: 'jwk' });
    expect(invalidKey({ privateKey: { ...privateJwk, n: even.n } }).code).toBe('InvalidKey');
  });

  it('an EC key, as PEM, JWK and KeyObject', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expectNoEcho(invalidKey({ privateKey: pem }), pemChunks(pem));
    expect(invalidKey({ privateKey: ec.privateKey }).message).toMatch(/not an RSA key \(got ec\)/);
    expect(invalidKey({ publicKey: ec.publicKey }).message).toMatch(/not an RSA key/);
    expect(invalidKey({ publicKey: ec.publicKey.export({ format: 'jwk' }) }).message).toMatch(
      /kty is not RSA/,
    );
  });

  it('an RSA-PSS key (restricted to signatures)', () => {
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(invalidKey({ privateKey: pss.privateKey }).message).toMatch(/RSA-PSS/);
  });

  it('a 1024-bit RSA key, in every form', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = small.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const options of [
      { privateKey: pem },
      { privateKey: small.privateKey },
      { publicKey: small.publicKey.export({ format: 'jwk' }) },
      { publicKey: new Uint8Array(small.publicKey.export({ type: 'spki', format: 'der' })) },
    ]) {
      const error = invalidKey(options);
      expect(error.message).toBe('RSA-OAEP keys must have a modulus of 2048 to 4096 bits, got 1024');
      expectNoEcho(error, pemChunks(pem));
    }
  });

  it('a modulus above 4096 bits', () => {
    const n = Buffer.alloc(513, 0xc5);
    n[512] = 0xc7; // odd
    const error = invalidKey({ publicKey: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' } });
    expect(error.message).toMatch(/2048 to 4096 bits, got 4104/);
  });

  it('a public exponent of 1 or an even one', () => {
    const jwk = pair.publicKey.export({ format: 'jwk' });
    for (const e of ['AQ', 'Ag', 'AQAA']) {
      expect(invalidKey({ publicKey: { ...jwk, e } }).message).toMatch(/public exponent/);
    }
  });

  it.each([
    ['a garbage string', 'this-is-not-a-key-but-a-secret-looking-string'],
    [
      'a PEM with a garbage body',
      '-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZS1ib2R5LWdhcmJhZ2UtYm9keQ==\n-----END PUBLIC KEY-----\n',
    ],
    ['garbage bytes', new Uint8Array(300).fill(0x42)],
    ['empty bytes', new Uint8Array(0)],
    ['an empty object', {}],
    ['a JWK missing n', { kty: 'RSA', e: 'AQAB' }],
    ['a number', 42],
    ['null', null],
  ])('%s', (_name, input) => {
    for (const slot of ['publicKey', 'privateKey'] as const) {
      const error = invalidKey({ [slot]: input as RsaKeyInput });
      if (typeof input === 'string') expectNoEcho(error, [input, ...pemChunks(input)]);
      expect(error.message).not.toContain('BBBBBBBB');
      expect(error.message).toMatch(new RegExp(`^RSA-OAEP ${slot} `));
    }
  });
});
