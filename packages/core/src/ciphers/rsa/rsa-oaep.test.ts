import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidToken } from '../../errors/invalid-token.js';
import { KeystoreError } from '../../errors/keystore-error.js';
import type { RsaKeyPair } from './key-pair.js';
import { RsaOaep } from './rsa-oaep.js';

const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
const HASH_LENGTH = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;
const SIZES = [2048, 3072, 4096] as const;

function pattern(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  // Buffer.equals: vitest's deep equality walks a 1 MiB array element by element.
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

const pairs = new Map<number, RsaKeyPair>();

beforeAll(async () => {
  // Generated once per size, in parallel on the thread pool: 4096-bit generation is slow.
  const generated = await Promise.all(
    SIZES.map((bits) => RsaOaep.generateKeyPairAsync({ modulusLength: bits })),
  );
  for (const [i, bits] of SIZES.entries()) pairs.set(bits, generated[i] as RsaKeyPair);
});

function pair(bits: number): RsaKeyPair {
  const p = pairs.get(bits);
  if (p === undefined) throw new Error(`no ${bits}-bit key pair`);
  return p;
}

describe.each(SIZES)('RSA-OAEP round trips, %i-bit keys', (bits) => {
  const k = bits / 8;

  describe.each(HASHES)('%s', (hash) => {
    const max = k - 2 * HASH_LENGTH[hash] - 2;
    let rsa: RsaOaep;
    beforeAll(() => {
      rsa = new RsaOaep({ ...pair(bits), hash });
    });

    it('names the algorithm and reports the sizes', () => {
      expect(rsa.algorithm).toBe(`rsa-oaep-${hash}`);
      expect(rsa.hash).toBe(hash);
      expect(rsa.modulusLength).toBe(bits);
      expect(rsa.maxOaepPayload).toBe(max);
    });

    it.each([
      ['empty', 0],
      ['1 byte', 1],
      ['the OAEP maximum', max],
    ])('%s: raw OAEP of exactly k bytes', (_name, size) => {
      const data = pattern(size);
      const ciphertext = rsa.encrypt(data);
      expect(ciphertext).toHaveLength(k);
      expect(same(rsa.decrypt(ciphertext), data)).toBe(true);
    });

    it.each([
      ['the OAEP maximum + 1', max + 1],
      ['1 MiB', 1024 * 1024],
    ])('%s: hybrid, k + 29 + n bytes starting with 0x01', (_name, size) => {
      const data = pattern(size);
      const ciphertext = rsa.encrypt(data);
      expect(ciphertext).toHaveLength(k + 29 + size);
      expect(ciphertext[0]).toBe(0x01);
      expect(same(rsa.decrypt(ciphertext), data)).toBe(true);
    });

    it('round trips with a label', () => {
      const labelled = new RsaOaep({ ...pair(bits), hash, label: 'tenant=42' });
      for (const data of [pattern(5), pattern(max + 10)]) {
        expect(same(labelled.decrypt(labelled.encrypt(data)), data)).toBe(true);
      }
    });
  });
});

describe('RsaOaep encryption', () => {
  let rsa: RsaOaep;
  beforeAll(() => {
    rsa = new RsaOaep(pair(2048));
  });

  it('defaults to SHA-256 (MGF1-SHA-256)', () => {
    expect(rsa.algorithm).toBe('rsa-oaep-sha256');
    expect(rsa.maxOaepPayload).toBe(190);
  });

  it('encrypts strings as UTF-8 and returns plain Uint8Arrays', () => {
    const text = 'Zoë — 学生記録 🔐';
    const ciphertext = rsa.encrypt(text);
    const out = rsa.decrypt(ciphertext);
    expect(ciphertext).toBeInstanceOf(Uint8Array);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(out)).toBe(text);
  });

  it('is randomized: the same message encrypts differently each time', () => {
    expect(same(rsa.encrypt('same'), rsa.encrypt('same'))).toBe(false);
    const long = pattern(1000);
    expect(same(rsa.encrypt(long), rsa.encrypt(long))).toBe(false);
  });

  it("treats a string label as its UTF-8 bytes, and '' as no label", () => {
    const text = new RsaOaep({ ...pair(2048), label: 'ctx' });
    const bytes = new RsaOaep({ ...pair(2048), label: new TextEncoder().encode('ctx') });
    expect(new TextDecoder().decode(bytes.decrypt(text.encrypt('x')))).toBe('x');
    const empty = new RsaOaep({ ...pair(2048), label: '' });
    expect(new TextDecoder().decode(rsa.decrypt(empty.encrypt('y')))).toBe('y');
  });

  it('copies the label: changing the caller’s bytes later changes nothing', () => {
    const label = new TextEncoder().encode('abc');
    const labelled = new RsaOaep({ ...pair(2048), label });
    const ciphertext = labelled.encrypt('z');
    label[0] = 0x7a;
    expect(new TextDecoder().decode(labelled.decrypt(ciphertext))).toBe('z');
  });

  it("with hybrid: 'always', uses the hybrid format for every size", () => {
    const always = new RsaOaep({ ...pair(2048), hybrid: 'always' });
    for (const size of [0, 1, 190, 191]) {
      const ciphertext = always.encrypt(pattern(size));
      expect(ciphertext).toHaveLength(256 + 29 + size);
      expect(same(rsa.decrypt(ciphertext), pattern(size))).toBe(true);
    }
    // and it still decrypts raw OAEP
    expect(same(always.decrypt(rsa.encrypt('raw')), new TextEncoder().encode('raw'))).toBe(true);
  });

  it('rejects an unknown hash, hybrid mode or label type with InvalidArgument', () => {
    const invalid = (message: RegExp) =>
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(message) });
    expect(() => new RsaOaep({ ...pair(2048), hash: 'md5' as 'sha1' })).toThrow(invalid(/hash/));
    expect(() => new RsaOaep({ ...pair(2048), hash: 'SHA-256' as 'sha256' })).toThrow(invalid(/hash/));
    expect(() => new RsaOaep({ ...pair(2048), hybrid: 'never' as 'auto' })).toThrow(invalid(/hybrid/));
    expect(() => new RsaOaep({ ...pair(2048), label: 42 as unknown as string })).toThrow(invalid(/label/));
  });

  it('rejects unknown options and a non-object where the options belong', () => {
    expect(() => new RsaOaep({ ...pair(2048), hsah: 'sha1' } as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: "RsaOaep: unknown option 'hsah' (known: publicKey, privateKey, hash, label, hybrid)",
      }),
    );
    expect(() => new RsaOaep('-----BEGIN PUBLIC KEY-----' as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: expect.stringMatching(/^RsaOaep: options must be a plain object/),
      }),
    );
    expect(() => RsaOaep.generateKeyPair({ bits: 3072 } as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: "RsaOaep.generateKeyPair: unknown option 'bits' (known: modulusLength)",
      }),
    );
    expect(() => RsaOaep.generateKeyPair({ modulusLength: 1024 })).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/modulusLength/) }),
    );
  });

  it('rejects data that is neither bytes nor a string', () => {
    expect(() => rsa.encrypt(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});

describe('public-only and private-only instances', () => {
  it('a public-only instance encrypts but cannot decrypt', () => {
    const { publicKey, privateKey } = pair(2048);
    const sender = new RsaOaep({ publicKey });
    const receiver = new RsaOaep({ privateKey });
    expect(sender.canDecrypt).toBe(false);
    expect(receiver.canDecrypt).toBe(true);
    const ciphertext = sender.encrypt('to the server');
    expect(new TextDecoder().decode(receiver.decrypt(ciphertext))).toBe('to the server');
    let thrown: unknown;
    try {
      sender.decrypt(ciphertext);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KeystoreError);
    expect(thrown).not.toBeInstanceOf(InvalidToken);
    expect((thrown as KeystoreError).code).toBe('UnsupportedOperation');
  });

  it('a private-only instance derives the public key and encrypts too', () => {
    const receiver = new RsaOaep({ privateKey: pair(2048).privateKey });
    expect(receiver.exportPublicKey('pem')).toBe(
      pair(2048).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(new TextDecoder().decode(receiver.decrypt(receiver.encrypt('loop')))).toBe('loop');
  });
});

describe('RsaOaep.generateKeyPair', () => {
  it('is synchronous and returns KeyObjects that the constructor takes as they are', () => {
    const generated = RsaOaep.generateKeyPair();
    expect(generated).not.toBeInstanceOf(Promise);
    expect(generated.publicKey.type).toBe('public');
    expect(generated.privateKey.type).toBe('private');
    expect(generated.publicKey.asymmetricKeyDetails).toMatchObject({
      modulusLength: 2048,
      publicExponent: 65537n,
    });
    const rsa = new RsaOaep(generated);
    expect(new TextDecoder().decode(rsa.decrypt(rsa.encrypt('ok')))).toBe('ok');
  });

  it('also works when awaited, and has an async twin', async () => {
    const awaited = new RsaOaep(await RsaOaep.generateKeyPair());
    expect(awaited.modulusLength).toBe(2048);
    const promised = RsaOaep.generateKeyPairAsync();
    expect(promised).toBeInstanceOf(Promise);
    expect(new RsaOaep(await promised).modulusLength).toBe(2048);
  });

  it('generates 3072-bit keys on request', () => {
    expect(new RsaOaep(RsaOaep.generateKeyPair({ modulusLength: 3072 })).modulusLength).toBe(3072);
  });

  it.each([1024, 2047, 4097, 8192, 2048.5, Number.NaN, '2048'])(
    'rejects modulusLength %s with InvalidArgument',
    async (bits) => {
      const options = { modulusLength: bits as number };
      expect(() => RsaOaep.generateKeyPair(options)).toThrow(
        expect.objectContaining({ code: 'InvalidArgument' }),
      );
      expect(() => RsaOaep.generateKeyPair(options)).toThrow(/2048 to 4096/);
      await expect(RsaOaep.generateKeyPairAsync(options)).rejects.toMatchObject({ code: 'InvalidArgument' });
    },
  );
});

describe('key material stays out of sight', () => {
  it('inspect and JSON show no key material', () => {
    const { publicKey, privateKey } = pair(2048);
    const rsa = new RsaOaep({ publicKey, privateKey, label: 'label-secret' });
    const jwk = privateKey.export({ format: 'jwk' });
    const shown = `${inspect(rsa, { depth: 10, showHidden: true })}${JSON.stringify(rsa)}`;
    for (const part of [jwk.n, jwk.d, jwk.p, jwk.q])
      expect(shown).not.toContain((part as string).slice(0, 24));
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).not.toContain('label-secret');
    expect(JSON.parse(JSON.stringify(rsa))).toEqual({ algorithm: 'rsa-oaep-sha256' });
  });
});
