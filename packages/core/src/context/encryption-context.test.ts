import { describe, expect, it } from 'vitest';
import {
  canonicalContext,
  contextDigest,
  type EncryptionContext,
  normalizeContext,
  withReservedEntry,
} from './encryption-context.js';

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('normalizeContext', () => {
  it('orders keys by their UTF-8 bytes, also where UTF-16 order differs (astral vs U+E000-FFFF)', () => {
    const keys = ['b', 'a', '\u{1F600}', '\uFB01', '\uE000', 'é', 'z', 'ab', '\u{10000}', '\uFFFD'];
    const normalized = normalizeContext(Object.fromEntries(keys.map((k) => [k, 'v'])));
    expect(Object.keys(normalized)).toEqual([...keys].sort(utf8Order));
  });

  it('returns a context it made as it is, but never lets a reserved key through a strict call', () => {
    const once = normalizeContext({ b: '2', a: '1' });
    expect(normalizeContext(once)).toBe(once);
    const wrapped = withReservedEntry(once, 'keystore:alg', 'fernet');
    expect(normalizeContext(wrapped, { allowReserved: true })).toBe(wrapped);
    expect(() => normalizeContext(wrapped)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('withReservedEntry', () => {
  it('gives what normalizing the merged object gives, key order and bytes alike', () => {
    for (const context of [
      {},
      { a: '1' },
      { z: '1', keystorf: '2', keystora: '3' },
      { '\u{1F600}': 'x', k: 'y' },
    ]) {
      const fast = withReservedEntry(normalizeContext(context), 'keystore:alg', 'fernet');
      const slow = normalizeContext({ ...context, 'keystore:alg': 'fernet' }, { allowReserved: true });
      expect(Object.keys(fast)).toEqual(Object.keys(slow));
      expect(canonicalContext(fast).equals(canonicalContext(slow))).toBe(true);
    }
  });

  it('adds reserved keys only, and only once', () => {
    expect(() => withReservedEntry({}, 'alg', 'x')).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
    const once = withReservedEntry({}, 'keystore:alg', 'a');
    expect(() => withReservedEntry(once, 'keystore:alg', 'b')).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});

describe('canonical bytes', () => {
  it('are computed once, but canonicalContext hands out a copy the caller may change', () => {
    const context: EncryptionContext = normalizeContext({ tenant: 'a', id: '7' });
    const digest = contextDigest(context);
    canonicalContext(context).fill(0);
    expect(contextDigest(context).equals(digest)).toBe(true);
    // The same bytes as for an equal context never normalized (sorted here).
    expect(canonicalContext({ tenant: 'a', id: '7' }).equals(canonicalContext(context))).toBe(true);
  });
});

describe('what the library knows of its contexts cannot be forged', () => {
  it('nothing on a context marks it: a frozen look-alike or a Proxy of one is checked anew', () => {
    const real = normalizeContext({ a: '1' });
    expect(Object.getOwnPropertySymbols(real)).toEqual([]);
    expect(() => normalizeContext(Object.freeze({ 'keystore:x': '1' }))).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
    expect(normalizeContext(new Proxy(real, {}))).not.toBe(real);
  });

  it('lone surrogates never pass, so two contexts cannot share a digest through U+FFFD', () => {
    expect(() => normalizeContext(Object.freeze({ k: '\uD800' }))).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});
