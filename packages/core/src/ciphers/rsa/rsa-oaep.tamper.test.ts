import { createCipheriv, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectInvalidToken as expectInvalidTokenWithout } from '../../../test/support/expect-invalid-token.js';
import { RsaOaep } from './rsa-oaep.js';

/**
 * Every way a ciphertext can be wrong gives the same InvalidToken: same
 * class, same message, no cause, and nothing of the plaintext in it.
 */
const SECRET = 'PLAINTEXT-MARKER-do-not-leak';
const K = 256;

function expectInvalidToken(fn: () => unknown): void {
  expectInvalidTokenWithout(fn, SECRET);
}

function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ mask;
  return copy;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

let rsa: RsaOaep;
let other: RsaOaep;
let raw: Uint8Array;
let hybrid: Uint8Array;
const longSecret = `${SECRET}${'.'.repeat(300)}`;

beforeAll(async () => {
  const [mine, theirs] = await Promise.all([RsaOaep.generateKeyPairAsync(), RsaOaep.generateKeyPairAsync()]);
  rsa = new RsaOaep(mine);
  other = new RsaOaep(theirs);
  raw = rsa.encrypt(SECRET);
  hybrid = rsa.encrypt(longSecret);
});

describe('RSA-OAEP decrypt rejects, always with the same InvalidToken', () => {
  it('sanity: the untouched ciphertexts decrypt', () => {
    expect(raw).toHaveLength(K);
    expect(hybrid).toHaveLength(K + 29 + longSecret.length);
    expect(new TextDecoder().decode(rsa.decrypt(raw))).toBe(SECRET);
    expect(new TextDecoder().decode(rsa.decrypt(hybrid))).toBe(longSecret);
  });

  it.each([0, 1, 2, 100, 128, 200, K - 2, K - 1])('raw: a bit flipped in byte %i', (index) => {
    for (const mask of [0x01, 0x80]) expectInvalidToken(() => rsa.decrypt(flipped(raw, index, mask)));
  });

  it('raw: truncated or extended', () => {
    for (const length of [0, 1, K - 1]) expectInvalidToken(() => rsa.decrypt(raw.subarray(0, length)));
    expectInvalidToken(() => rsa.decrypt(concat(raw, new Uint8Array(1))));
    expectInvalidToken(() => rsa.decrypt(concat(new Uint8Array([1]), raw)));
    expectInvalidToken(() => rsa.decrypt(concat(raw, raw)));
  });

  it('raw: all zeros, and all ones (above the modulus)', () => {
    expectInvalidToken(() => rsa.decrypt(new Uint8Array(K)));
    expectInvalidToken(() => rsa.decrypt(new Uint8Array(K).fill(0xff)));
  });

  it('another key', () => {
    expectInvalidToken(() => other.decrypt(raw));
    expectInvalidToken(() => other.decrypt(hybrid));
  });

  it('another label, a missing label, an unexpected label', () => {
    const pair = { privateKey: rsa.exportPrivateKey('pem') };
    const labelled = new RsaOaep({ ...pair, label: 'a' });
    const fromLabelled = [labelled.encrypt(SECRET), labelled.encrypt(longSecret)];
    for (const c of fromLabelled) {
      expectInvalidToken(() => new RsaOaep({ ...pair, label: 'b' }).decrypt(c));
      expectInvalidToken(() => rsa.decrypt(c));
    }
    expectInvalidToken(() => labelled.decrypt(raw));
    expectInvalidToken(() => labelled.decrypt(hybrid));
  });

  it('another hash', () => {
    const sha1 = new RsaOaep({ privateKey: rsa.exportPrivateKey('pem'), hash: 'sha1' });
    expectInvalidToken(() => sha1.decrypt(raw));
    expectInvalidToken(() => sha1.decrypt(hybrid));
  });

  it.each([
    ['the version byte', 0],
    ['the wrapped key (first byte)', 1],
    ['the wrapped key (middle)', 1 + K / 2],
    ['the wrapped key (last byte)', K],
    ['the nonce (first byte)', 1 + K],
    ['the nonce (last byte)', K + 12],
    ['the GCM ciphertext (first byte)', K + 13],
    ['the GCM ciphertext (last byte)', K + 12 + longSecret.length],
    ['the tag (first byte)', K + 13 + longSecret.length],
    ['the tag (last byte)', K + 28 + longSecret.length],
  ])('hybrid: a bit flipped in %s', (_name, index) => {
    expect(index).toBeLessThan(hybrid.length);
    for (const mask of [0x01, 0x80]) expectInvalidToken(() => rsa.decrypt(flipped(hybrid, index, mask)));
  });

  it('hybrid: truncated anywhere, down to k bytes (which then read as raw)', () => {
    for (const length of [hybrid.length - 1, hybrid.length - 16, K + 29, K + 28, K + 1, K]) {
      expectInvalidToken(() => rsa.decrypt(hybrid.subarray(0, length)));
    }
  });

  it('hybrid: extended', () => {
    expectInvalidToken(() => rsa.decrypt(concat(hybrid, new Uint8Array(1))));
    expectInvalidToken(() => rsa.decrypt(concat(hybrid, new Uint8Array(16))));
  });

  it('hybrid: parts spliced from another valid ciphertext of the same key', () => {
    const second = rsa.encrypt(`${'!'.repeat(longSecret.length)}`);
    // The other ciphertext's wrapped key with this one's nonce, body and tag.
    expectInvalidToken(() => rsa.decrypt(concat(second.subarray(0, 1 + K), hybrid.subarray(1 + K))));
    // This one's header with the other's nonce, body and tag.
    expectInvalidToken(() => rsa.decrypt(concat(hybrid.subarray(0, 1 + K), second.subarray(1 + K))));
    // The other's tag.
    const tagAt = hybrid.length - 16;
    expectInvalidToken(() => rsa.decrypt(concat(hybrid.subarray(0, tagAt), second.subarray(tagAt))));
  });

  /** A hybrid ciphertext built by hand, authentic under its own header, as README.md describes it. */
  function craft(version: number, dek: Buffer, cipher: 'aes-256-gcm' | 'aes-128-gcm'): Uint8Array {
    const wrapped = new RsaOaep({ publicKey: rsa.exportPublicKey('pem') }).encrypt(dek);
    const header = concat(new Uint8Array([version]), wrapped);
    const nonce = randomBytes(12);
    const gcm = createCipheriv(cipher, dek, nonce).setAAD(header);
    const body = concat(gcm.update(SECRET), gcm.final());
    return concat(header, nonce, body, gcm.getAuthTag());
  }

  it('hybrid: the hand-built reference decrypts (so the cases below fail for their one reason)', () => {
    expect(new TextDecoder().decode(rsa.decrypt(craft(0x01, randomBytes(32), 'aes-256-gcm')))).toBe(SECRET);
  });

  it('hybrid: a correctly wrapped key of the wrong length (16 bytes, AES-128-GCM)', () => {
    expectInvalidToken(() => rsa.decrypt(craft(0x01, randomBytes(16), 'aes-128-gcm')));
  });

  it('hybrid: an unknown version byte, even when the GCM tag covers it', () => {
    for (const version of [0x00, 0x02, 0x80, 0xff]) {
      expectInvalidToken(() => rsa.decrypt(concat(new Uint8Array([version]), hybrid.subarray(1))));
      expectInvalidToken(() => rsa.decrypt(craft(version, randomBytes(32), 'aes-256-gcm')));
    }
  });

  it('non-bytes', () => {
    for (const bad of [undefined, null, 42, 'text', {}, [1, 2, 3], new ArrayBuffer(K)]) {
      expectInvalidToken(() => rsa.decrypt(bad as Uint8Array));
    }
  });
});
