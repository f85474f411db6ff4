import { describe, expect, it } from 'vitest';
import { base64UrlVariants } from '../../../test/support/base64url-variants.js';
import { expectInvalidToken } from '../../../test/support/expect-invalid-token.js';
import { Fernet } from './fernet.js';
import { MultiFernet } from './multi-fernet.js';

/**
 * One token, one encoding: a Fernet token decrypts only in the form
 * encrypt writes (base64url, `=` padding as required, no stray bits), so
 * that no two strings are the same record.
 */
const T0 = 1_700_000_000;
const f = new Fernet(Fernet.generateKey());

/** A token of `size` plaintext bytes whose text has both '-' and '_' (so every variant exists). */
function tokenWithBothSpecials(fernet: Fernet, size: number): string {
  for (;;) {
    const token = fernet.encryptAtTime(Buffer.alloc(size, 0x61), T0);
    if (token.includes('-') && token.includes('_')) return token;
  }
}

// 0, 16 and 32 bytes of plaintext make 73, 89 and 105 bytes of token: two, one and no `=`.
describe.each([0, 16, 32])('a token of %i plaintext bytes', (size) => {
  const token = tokenWithBothSpecials(f, size);
  const variants = base64UrlVariants(token, true);

  it('decrypts in its canonical form', () => {
    expect(Buffer.from(f.decrypt(token))).toEqual(Buffer.alloc(size, 0x61));
    expect(f.extractTimestamp(token)).toBe(T0);
  });

  it('is refused in every other spelling, as a string or as bytes', () => {
    expect(variants.length).toBeGreaterThan(20);
    const multi = new MultiFernet([new Fernet(Fernet.generateKey()), f]);
    for (const { text } of variants) {
      expectInvalidToken(() => f.decrypt(text));
      expectInvalidToken(() => f.decrypt(new TextEncoder().encode(text)));
      expectInvalidToken(() => f.decryptAtTime(text, 60, T0));
      expectInvalidToken(() => f.extractTimestamp(text));
      expectInvalidToken(() => multi.decrypt(text));
      expectInvalidToken(() => multi.rotate(text));
      expectInvalidToken(() => multi.extractTimestamp(text));
    }
  });
});
