import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64UrlVariants } from '../../test/support/base64url-variants.js';
import { decodeBase64Url, decodeBase64UrlPadded, encodeBase64UrlPadded } from './base64url.js';
import { createScratch } from './scratch.js';

describe('decodeBase64UrlPadded: exactly what encodeBase64UrlPadded writes', () => {
  const scratch = createScratch(16);

  it.each(Array.from({ length: 40 }, (_, i) => i))('round-trips %i bytes, into a scratch or not', (size) => {
    const bytes = randomBytes(size);
    const text = encodeBase64UrlPadded(bytes);
    expect(decodeBase64UrlPadded(text)?.equals(bytes)).toBe(true);
    expect(decodeBase64UrlPadded(text, scratch)?.equals(bytes)).toBe(true);
  });

  it.each([0, 1, 2, 30, 31, 32])('refuses every other spelling of 2 + %i bytes', (size) => {
    // 0xfb 0xff encode as '-_', so that every kind of variant is made.
    const text = encodeBase64UrlPadded(Buffer.concat([Buffer.from([0xfb, 0xff]), randomBytes(size)]));
    const variants = base64UrlVariants(text, true);
    expect(variants.length).toBeGreaterThan(15);
    for (const v of variants) {
      expect(decodeBase64UrlPadded(v.text), v.kind).toBeUndefined();
      expect(decodeBase64UrlPadded(v.text, scratch), v.kind).toBeUndefined();
    }
  });

  it('refuses stray bits whatever the padding: AB== and AAB= are not AA== and AAA=', () => {
    expect(decodeBase64UrlPadded('AA==')).toEqual(Buffer.from([0]));
    expect(decodeBase64UrlPadded('AB==')).toBeUndefined();
    expect(decodeBase64UrlPadded('AAA=')).toEqual(Buffer.from([0, 0]));
    expect(decodeBase64UrlPadded('AAB=')).toBeUndefined();
    expect(decodeBase64UrlPadded('AAAA')).toEqual(Buffer.from([0, 0, 0]));
  });
});

describe('decodeBase64Url (keys: padding optional)', () => {
  it('does not read a character above U+00FF as the one its low byte names', () => {
    expect(decodeBase64Url('QUFB')).toEqual(Buffer.from('AAA'));
    // Node's decoder truncates U+0155 to 0x55, 'U'.
    expect(decodeBase64Url('Q\u0155FB')).toBeUndefined();
    expect(decodeBase64Url('Q\u0155FB', createScratch(16))).toBeUndefined();
  });
});

describe('long text is decoded in pieces', () => {
  // Over the piece size (2^20 characters), with the text a slice of a larger string, as a payload is.
  const bytes = Buffer.alloc(3 * 2 ** 19 + 5).map((_, i) => (i * 7919) & 0xff);
  const text = `x.${encodeBase64UrlPadded(bytes)}`.slice(2);

  it('gives the same bytes as a whole decode, into a scratch buffer or not', () => {
    expect(text.length).toBeGreaterThan(2 ** 20);
    expect(decodeBase64UrlPadded(text)?.equals(bytes)).toBe(true);
    const scratch = Buffer.alloc(bytes.length + 10);
    expect(decodeBase64UrlPadded(text, () => scratch)?.equals(bytes)).toBe(true);
  });

  it('still refuses a character outside the alphabet in any piece', () => {
    for (const at of [10, 2 ** 20 + 3, text.length - 6]) {
      const bad = `${text.slice(0, at)}!${text.slice(at + 1)}`;
      expect(decodeBase64UrlPadded(bad), `at ${at}`).toBeUndefined();
    }
  });
});
