import { describe, expect, it } from 'vitest';
import { Fernet } from '../ciphers/fernet/fernet.js';
import {
  envelopeLength,
  MAX_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  V8_MAX_STRING_LENGTH,
} from '../ciphers/payload-limit.js';
import {
  ENVELOPE_PREFIX,
  type EnvelopeHeader,
  encodeHeader,
  formatEnvelope,
  parseEnvelope,
} from '../envelope/envelope-format.js';
import { writeFernetEnvelope } from './envelope-writer.js';

const header: EnvelopeHeader = {
  provider: 'memory',
  keyId: 'app-data',
  version: 3,
  algorithm: 'fernet',
  contextDigest: new Uint8Array(32).fill(7),
  wrappedKey: new Uint8Array(60).fill(9),
};

const head = `${ENVELOPE_PREFIX}${encodeHeader(header).toString('base64url')}.`;

function pattern(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + 17) & 0xff;
  return out;
}

describe('writeFernetEnvelope', () => {
  const fernet = new Fernet(Fernet.generateKey());
  const iv = new Uint8Array(16).fill(5);
  const at = 1_700_000_000;

  // Sizes around the base64 groups (3 bytes), AES blocks (16) and the writer's chunks (1 MiB).
  it.each([0, 1, 2, 3, 15, 16, 17, 47, 48, 1000, 1024 * 1024 - 1, 1024 * 1024, 3 * 1024 * 1024 + 7])(
    'writes exactly formatEnvelope(header, the Fernet token) for %i bytes',
    (size) => {
      const data = pattern(size);
      const expected = formatEnvelope(header, fernet.encryptFromParts(data, at, iv));
      const written = writeFernetEnvelope(head, fernet, data, at, iv);
      expect(written.length).toBe(expected.length);
      expect(written === expected).toBe(true);
      expect(written.length).toBe(envelopeLength(size, encodeHeader(header).length));
      expect(Buffer.from(fernet.decrypt(parseEnvelope(written).payload)).equals(data)).toBe(true);
    },
  );
});

describe('writeFernetEnvelope with a string', () => {
  const fernet = new Fernet(Fernet.generateKey());
  const iv = new Uint8Array(16).fill(6);
  const at = 1_700_000_001;
  const MiB = 1024 * 1024;

  it.each([
    ['empty', ''],
    ['Unicode', 'Zoë — 学生記録 🔐 \u0000 end'],
    ['lone surrogates', 'a\uD800b\uDC00c'],
    // A pair, or a lone high surrogate, straddling the writer's 1 Mi-unit pieces.
    ['a pair across a piece boundary', `${'x'.repeat(MiB - 1)}🔐${'y'.repeat(MiB)}é`],
    ['a lone high surrogate at a boundary', `${'x'.repeat(MiB - 1)}\uD800${'y'.repeat(10)}`],
    ['a pair at the very end', `${'x'.repeat(MiB - 1)}🔐`],
  ])('writes the envelope of its UTF-8 bytes (%s)', (_name, data) => {
    const bytes = Buffer.from(data, 'utf8');
    const expected = formatEnvelope(header, fernet.encryptFromParts(bytes, at, iv));
    expect(writeFernetEnvelope(head, fernet, data, at, iv) === expected).toBe(true);
  });
});

describe('the payload limit', () => {
  it('fits the largest envelope in one string on Node 20 (V8: 2^29 - 24 characters)', () => {
    expect(V8_MAX_STRING_LENGTH).toBe(2 ** 29 - 24);
    expect(envelopeLength(MAX_PAYLOAD_BYTES, MAX_HEADER_BYTES)).toBeLessThanOrEqual(V8_MAX_STRING_LENGTH);
    expect(MAX_PAYLOAD_BYTES).toBe(256 * 1024 * 1024);
  });

  it('computes the envelope length from the payload size', () => {
    // 'ks1.' + header (4 chars) + '.' + base64 of a token of 25 + 16 + 32 bytes (73: 100 characters).
    expect(envelopeLength(0, 3)).toBe(4 + 4 + 1 + 100);
    expect(envelopeLength(16, 3)).toBe(4 + 4 + 1 + 4 * Math.ceil((25 + 32 + 32) / 3));
  });
});
