import { describe, expect, it } from 'vitest';
import { KeystoreError } from '../errors/keystore-error.js';
import { compareDigest } from './secrets.js';

describe('compareDigest', () => {
  it('compares ASCII strings and bytes', () => {
    expect(compareDigest('abc', 'abc')).toBe(true);
    expect(compareDigest('abc', 'abd')).toBe(false);
    expect(compareDigest('abc', 'abcd')).toBe(false);
    expect(compareDigest('', '')).toBe(true);
    expect(compareDigest(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(compareDigest(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(compareDigest('AB', new Uint8Array([65, 66]))).toBe(true);
  });

  // Python's compare_digest raises TypeError for str arguments with non-ASCII characters.
  it.each([
    ['two different lone surrogates', '\uD800', '\uDBFF'],
    ['a lone surrogate and U+FFFD (its UTF-8 replacement)', '\uD800', '\uFFFD'],
    ['equal non-ASCII strings', 'é', 'é'],
    ['an ASCII and a non-ASCII string', 'abc', 'abç'],
    ['a non-ASCII string and bytes', '\uD800', new Uint8Array([0xef, 0xbf, 0xbd])],
  ])('refuses non-ASCII strings (%s) with InvalidArgument, never saying "equal"', (_name, a, b) => {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      let thrown: unknown;
      try {
        compareDigest(x, y);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(KeystoreError);
      expect((thrown as KeystoreError).code).toBe('InvalidArgument');
      for (const s of [x, y]) if (typeof s === 'string') expect((thrown as Error).message).not.toContain(s);
    }
  });
});

describe('token helpers refuse bad arguments with InvalidArgument', () => {
  it('a size outside 1 to 65536, or an unknown encoding', async () => {
    const { tokenBytes, randomToken } = await import('./secrets.js');
    for (const n of [0, -1, 1.5, 65_537])
      expect(() => tokenBytes(n)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => randomToken(16, 'base32' as never)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});
