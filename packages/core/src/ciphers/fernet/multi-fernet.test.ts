import { describe, expect, it } from 'vitest';
import { InvalidToken } from '../../errors/invalid-token.js';
import { Fernet } from './fernet.js';
import { MultiFernet } from './multi-fernet.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('MultiFernet', () => {
  const k1 = new Fernet(Fernet.generateKey());
  const k2 = new Fernet(Fernet.generateKey());
  const k3 = new Fernet(Fernet.generateKey());

  it('requires at least one Fernet', () => {
    expect(() => new MultiFernet([])).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => new MultiFernet(['key' as unknown as Fernet])).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
    expect(() => new MultiFernet('key' as never)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });

  it('encrypts with the first key only', () => {
    const token = new MultiFernet([k1, k2]).encrypt('first');
    expect(text(k1.decrypt(token))).toBe('first');
    expect(() => k2.decrypt(token)).toThrow(InvalidToken);
  });

  it('decrypts with any key', () => {
    const mf = new MultiFernet([k1, k2, k3]);
    expect(text(mf.decrypt(k1.encrypt('a')))).toBe('a');
    expect(text(mf.decrypt(k3.encrypt('c')))).toBe('c');
    expect(() => mf.decrypt(new Fernet(Fernet.generateKey()).encrypt('x'))).toThrow(InvalidToken);
  });

  it('rotates to the first key, keeping the timestamp and the plaintext', () => {
    const at = 1_234_567_890;
    const old = k2.encryptAtTime('records', at);
    const rotated = new MultiFernet([k1, k2]).rotate(old);
    expect(rotated).not.toBe(old);
    expect(text(k1.decrypt(rotated))).toBe('records');
    expect(k1.extractTimestamp(rotated)).toBe(at);
    // Rotating a token far past any TTL still works: rotation never loses data.
    const again = new MultiFernet([k3, k1]).rotate(rotated);
    expect(text(k3.decrypt(again))).toBe('records');
    expect(k3.extractTimestamp(again)).toBe(at);
  });

  it('refuses to rotate a token none of its keys made, or a tampered one', () => {
    const mf = new MultiFernet([k1, k2]);
    expect(() => mf.rotate(k3.encrypt('x'))).toThrow(InvalidToken);
    expect(() => mf.rotate('not a token')).toThrow(InvalidToken);
  });

  it('applies TTLs across keys', () => {
    const mf = new MultiFernet([k1, k2]);
    const token = k2.encryptAtTime('t', 1000);
    expect(text(mf.decryptAtTime(token, 10, 1010))).toBe('t');
    expect(() => mf.decryptAtTime(token, 10, 1011)).toThrow(InvalidToken);
    expect(() => mf.decrypt(token, { ttl: 10 })).toThrow(InvalidToken);
    expect(mf.extractTimestamp(token)).toBe(1000);
  });

  it('checks decrypt options like Fernet', () => {
    const mf = new MultiFernet([k1]);
    expect(() => mf.decrypt(k1.encrypt('t'), { TTL: 10 } as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: "MultiFernet.decrypt: unknown option 'TTL' (known: ttl)",
      }),
    );
  });
});
