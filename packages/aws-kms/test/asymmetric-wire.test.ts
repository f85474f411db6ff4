import { randomBytes } from 'node:crypto';
import { RsaOaep } from '@keystore/core';
import { normalizeContext } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import { decodeAsymmetric, encodeHeader, isAsymmetricWire } from '../src/asymmetric-wire.js';
import { openWithKek, sealToPublicKey } from '../src/rsa-seal.js';
import { decodeWrapped, encodeWrapped } from '../src/wire.js';

// KMS's part (Decrypt of the KEK) is played by a local key pair: these tests are of the format.
const pair = RsaOaep.generateKeyPair({ modulusLength: 2048 });
const kms = new RsaOaep({ privateKey: pair.privateKey, hash: 'sha256' });
const toPublic = new RsaOaep({ publicKey: pair.publicKey, hash: 'sha256' });
const arn = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ref = 'alias/patients';
const context = normalizeContext(
  { table: 'patients', id: '4711', 'keystore:alg': 'fernet' },
  { allowReserved: true },
);

/** What unwrap does after KMS: decode with the reader's context, decrypt the KEK, open. */
function open(bytes: Uint8Array, ctx = context): Uint8Array {
  const wire = decodeAsymmetric(bytes, ctx);
  let kek: Uint8Array;
  try {
    kek = kms.decrypt(wire.rsa);
  } catch {
    throw Object.assign(new Error('KMS refused'), { code: 'InvalidToken' });
  }
  return openWithKek(kek, wire);
}

describe('the asymmetric wrapped-key format (0x02)', () => {
  const dataKey = randomBytes(32);
  const sealed = sealToPublicKey(toPublic, ref, arn, dataKey, context);

  it('round trips, records the reference and the ARN, and carries an RSA-2048 block', () => {
    expect(Buffer.from(open(sealed))).toEqual(dataKey);
    const wire = decodeAsymmetric(sealed, context);
    expect(wire).toMatchObject({ ref, arn });
    expect(wire.rsa.length).toBe(256);
    expect(wire.sealed.length).toBe(12 + 32 + 16);
    expect(sealed[0]).toBe(0x4b);
    expect(sealed[1]).toBe(0x02);
  });

  it('each wrap has a fresh KEK and nonce', () => {
    const again = sealToPublicKey(toPublic, ref, arn, dataKey, context);
    expect(Buffer.from(again)).not.toEqual(Buffer.from(sealed));
    expect(Buffer.from(open(again))).toEqual(dataKey);
  });

  it('a wrong context, a context entry added or removed: InvalidToken', () => {
    const other = normalizeContext({ ...context, id: '4712' }, { allowReserved: true });
    expect(() => open(sealed, other)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    const more = normalizeContext({ ...context, extra: '' }, { allowReserved: true });
    expect(() => open(sealed, more)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    expect(() => open(sealed, normalizeContext({}))).toThrow(
      expect.objectContaining({ code: 'InvalidToken' }),
    );
  });

  it('every single-bit flip, in every byte, is InvalidToken', () => {
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i] = (bad[i] as number) ^ (1 << (i % 8));
      expect(() => open(bad), `byte ${i}`).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    }
  });

  it('every truncation and an appended byte are InvalidToken', () => {
    for (let n = 0; n < sealed.length; n++) {
      expect(() => open(sealed.subarray(0, n)), `length ${n}`).toThrow(
        expect.objectContaining({ code: 'InvalidToken' }),
      );
    }
    const longer = Buffer.concat([sealed, Buffer.of(0)]);
    expect(() => open(longer)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
  });

  it('the reference or ARN relabelled, the RSA block and seal kept: fails to open', () => {
    const original = decodeAsymmetric(sealed, context);
    const otherArn = arn.replace('1234abcd', '9999abcd');
    for (const header of [
      encodeHeader('alias/patientz', arn, original.rsa),
      encodeHeader(ref, otherArn, original.rsa),
    ]) {
      const spliced = Buffer.concat([header, original.sealed]);
      expect(decodeAsymmetric(spliced, context).rsa).toEqual(original.rsa);
      expect(() => open(spliced)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    }
  });

  it('is told apart from the symmetric format: each decoder refuses the other', () => {
    const symmetric = encodeWrapped({ ref, arn, blob: randomBytes(64) });
    expect(isAsymmetricWire(symmetric)).toBe(false);
    expect(() => decodeAsymmetric(symmetric, context)).toThrow(
      expect.objectContaining({ code: 'InvalidToken' }),
    );
    expect(() => decodeWrapped(sealed)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
  });

  it('openWithKek zeroes the KEK it is given, opened or not', () => {
    const wire = decodeAsymmetric(sealed, context);
    const kek = kms.decrypt(wire.rsa);
    expect(Buffer.from(openWithKek(kek, wire))).toEqual(dataKey);
    expect(kek.every((b) => b === 0)).toBe(true);
    const wrongKek = randomBytes(32);
    expect(() => openWithKek(wrongKek, wire)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    expect(wrongKek.every((b) => b === 0)).toBe(true);
  });
});
