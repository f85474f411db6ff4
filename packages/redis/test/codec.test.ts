import { Fernet } from '@keystore/core';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_CHARS, ValueCodec } from '../src/codec/value-codec.js';
import { NAME_LENGTH_OFFSET, VALUE_FORMAT_VERSION, writeValue } from '../src/codec/value-format.js';

const cacheKey = Fernet.generateKey();
const NOW = 1_800_000_000;
const codec = (now = NOW, key = cacheKey) =>
  new ValueCodec({ cacheKey: key, maxTtlSeconds: 300, now: () => now });
const material = new Uint8Array(32).map((_, i) => i + 1);
const KEY = 'keystore:memory:material:patients';

/** A token whose one base64 character at `at` is changed (to another valid one). */
function flip(token: string, at: number): string {
  const c = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + c + token.slice(at + 1);
}

describe('ValueCodec', () => {
  it('opens what it sealed, under the same key name, as a fresh copy', () => {
    const token = codec().encode(KEY, material, 60);
    const first = codec().decode(KEY, token);
    expect(first).toEqual(material);
    first?.fill(0);
    expect(codec().decode(KEY, token)).toEqual(material);
    expect(token).not.toContain(Buffer.from(material).toString('base64url'));
  });

  it('refuses a value moved to another key', () => {
    const token = codec().encode(KEY, material, 60);
    expect(codec().decode('keystore:memory:material:billing', token)).toBeUndefined();
    expect(codec().decode(`${KEY}x`, token)).toBeUndefined();
    expect(codec().decode(KEY.slice(0, -1), token)).toBeUndefined();
  });

  it('refuses a value sealed under another cacheKey', () => {
    const token = codec(NOW, Fernet.generateKey()).encode(KEY, material, 60);
    expect(codec().decode(KEY, token)).toBeUndefined();
  });

  it('refuses every tampered character, a truncated token and garbage', () => {
    const token = codec().encode(KEY, material, 60);
    // Every position (base64 padding at the end aside): one changed character is refused.
    for (let at = 0; at < token.length - 2; at++) {
      expect(codec().decode(KEY, flip(token, at)), `position ${at}`).toBeUndefined();
    }
    for (const cut of [1, 4, 16, token.length - 8]) {
      expect(codec().decode(KEY, token.slice(0, token.length - cut))).toBeUndefined();
    }
    for (const garbage of ['', 'nil', '{"material":"AAAA"}', 'gAAAAA', '\u0000'.repeat(100), token + token]) {
      expect(codec().decode(KEY, garbage)).toBeUndefined();
    }
    expect(codec().decode(KEY, 'A'.repeat(MAX_TOKEN_CHARS + 1))).toBeUndefined();
  });

  it('refuses a value past its own expiry, past the longest TTL, or from the future', () => {
    const token = codec().encode(KEY, material, 60);
    expect(codec(NOW + 59).decode(KEY, token)).toEqual(material);
    expect(codec(NOW + 60).decode(KEY, token)).toBeUndefined();
    // A plaintext claiming a far expiry still ends at maxTtlSeconds (Fernet's own timestamp check).
    const fernet = new Fernet(cacheKey);
    const forged = fernet.encryptAtTime(
      writeValue({ keyName: KEY, expiresAt: NOW + 10_000, value: material }),
      NOW,
    );
    expect(codec(NOW + 299).decode(KEY, forged)).toEqual(material);
    expect(codec(NOW + 301).decode(KEY, forged)).toBeUndefined();
    expect(codec(NOW - 120).decode(KEY, token)).toBeUndefined();
  });

  it('refuses a plaintext of another format version, or too short for the header', () => {
    const fernet = new Fernet(cacheKey);
    const plain = writeValue({ keyName: KEY, expiresAt: NOW + 60, value: material });
    plain[0] = VALUE_FORMAT_VERSION - 1; // version 1 had no generation
    expect(codec().decode(KEY, fernet.encryptAtTime(plain, NOW))).toBeUndefined();
    expect(codec().decode(KEY, fernet.encryptAtTime(plain.subarray(0, 10), NOW))).toBeUndefined();
    // A name length beyond the plaintext.
    const long = writeValue({ keyName: KEY, expiresAt: NOW + 60, value: new Uint8Array(0) });
    long.writeUInt16BE(KEY.length + 1, NAME_LENGTH_OFFSET);
    expect(codec().decode(KEY, fernet.encryptAtTime(long, NOW))).toBeUndefined();
  });

  it('refuses a TTL it cannot keep, and a key that is not a Fernet key', () => {
    expect(() => codec().encode(KEY, material, 301)).toThrow(RangeError);
    expect(() => codec().encode(KEY, material, 0)).toThrow(RangeError);
    expect(() => new ValueCodec({ cacheKey: 'not a key', maxTtlSeconds: 300 })).toThrow(
      expect.objectContaining({ code: 'InvalidKey' }),
    );
  });
});
