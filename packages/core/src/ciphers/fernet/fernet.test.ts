import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { expectInvalidToken } from '../../../test/support/expect-invalid-token.js';
import { encodeBase64UrlPadded } from '../../encoding/base64url.js';
import { InvalidKey } from '../../errors/invalid-key.js';
import { Fernet } from './fernet.js';

const KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const T0 = 499_162_800;

/** Flips one bit of the token's decoded bytes and re-encodes it as the library would (padded). */
function flipBit(token: string, bit: number): string {
  const raw = Buffer.from(token, 'base64url');
  raw[bit >> 3] = (raw[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return encodeBase64UrlPadded(raw);
}

describe('Fernet keys', () => {
  it('generates 32 random bytes as padded base64url, 44 characters', () => {
    const a = Fernet.generateKey();
    const b = Fernet.generateKey();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('accepts the key as base64url (padded or not) or as 32 raw bytes', () => {
    const token = new Fernet(KEY).encryptAtTime('x', T0);
    expect(new Fernet(KEY.replace(/=$/, '')).decrypt(token)).toEqual(new TextEncoder().encode('x'));
    expect(new Fernet(Buffer.from(KEY, 'base64url')).decrypt(token)).toEqual(new TextEncoder().encode('x'));
  });

  it.each([
    ['too short', KEY.slice(0, 40)],
    ['too long', `${KEY.slice(0, 43)}AAAA`],
    ['standard base64 junk', '!!!!not-a-key!!!!'],
    ['31 raw bytes', new Uint8Array(31)],
    ['33 raw bytes', new Uint8Array(33)],
  ])('rejects a bad key (%s) with InvalidKey that does not echo it', (_name, key) => {
    let thrown: unknown;
    try {
      new Fernet(key as string);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidKey);
    expect((thrown as Error).message).toBe('Fernet key must be 32 url-safe base64-encoded bytes');
    if (typeof key === 'string') expect((thrown as Error).message).not.toContain(key);
  });

  it('keeps key material out of inspection and JSON', () => {
    const f = new Fernet(KEY);
    const raw = Buffer.from(KEY, 'base64url');
    const shown = `${inspect(f, { depth: 5, showHidden: true })}${JSON.stringify(f)}`;
    expect(shown).not.toContain(KEY.slice(0, 20));
    expect(shown).not.toContain(raw.subarray(0, 16).toString('hex'));
  });
});

describe('Fernet round trips', () => {
  const f = new Fernet(Fernet.generateKey());
  const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 1024 * 1024];

  it.each(sizes)('%i bytes', (size) => {
    const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
    const token = f.encrypt(data);
    expect(token).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
    expect(token.length % 4).toBe(0);
    // Buffer.equals: vitest's deep equality walks a 1 MiB array element by element.
    expect(Buffer.from(f.decrypt(token)).equals(data)).toBe(true);
  });

  it('encrypts strings as UTF-8, Unicode included', () => {
    const text = 'Zoë — 学生記録 🔐 \u0000 end';
    const out = f.decrypt(f.encrypt(text));
    expect(new TextDecoder().decode(out)).toBe(text);
  });

  it('returns a Uint8Array and accepts the token as bytes', () => {
    const token = f.encrypt('abc');
    const out = f.decrypt(new TextEncoder().encode(token));
    expect(out).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(out)).toBe('abc');
  });

  it('uses a fresh IV each time', () => {
    expect(f.encrypt('same')).not.toBe(f.encrypt('same'));
  });

  it('rejects a token made with another key', () => {
    const other = new Fernet(Fernet.generateKey());
    expectInvalidToken(() => other.decrypt(f.encrypt('secret')));
  });
});

describe('Fernet tamper resistance', () => {
  const f = new Fernet(KEY);
  const token = f.encryptAtTime('hello, tamper test', T0);
  const rawLength = Buffer.from(token, 'base64url').length;

  it('rejects every single-bit flip of the token', () => {
    let rejected = 0;
    for (let bit = 0; bit < rawLength * 8; bit++) {
      expectInvalidToken(() => f.decrypt(flipBit(token, bit)));
      rejected++;
    }
    expect(rejected).toBe(rawLength * 8);
  });

  it('rejects the token truncated at every length', () => {
    // Cutting only padding too: a token's padding is part of its one spelling.
    expect(token).toMatch(/=$/);
    for (let length = 0; length < token.length; length++) {
      expectInvalidToken(() => f.decrypt(token.slice(0, length)));
    }
  });

  it('rejects trailing garbage, inner whitespace and foreign characters', () => {
    expectInvalidToken(() => f.decrypt(`${token}A`));
    expectInvalidToken(() => f.decrypt(`${token.slice(0, 10)} ${token.slice(10)}`));
    expectInvalidToken(() => f.decrypt(`${token.slice(0, 10)}%${token.slice(11)}`));
    expectInvalidToken(() => f.decrypt(`${token.slice(0, 10)}=${token.slice(11)}`));
  });

  it('rejects non-tokens of every type', () => {
    for (const bad of ['', 'gA', 42, null, undefined, {}, new Uint8Array(100)]) {
      expectInvalidToken(() => f.decrypt(bad as string));
    }
  });

  it('rejects a wrong version byte even with a valid MAC', () => {
    const raw = Buffer.from(f.encryptFromParts(Buffer.from('x'), T0, new Uint8Array(16)), 'base64url');
    raw[0] = 0x81;
    expectInvalidToken(() => f.decrypt(encodeBase64UrlPadded(raw)));
  });
});

describe('Fernet time rules (as Python cryptography applies them)', () => {
  const f = new Fernet(KEY);
  const token = f.encryptAtTime('timed', T0);

  it('accepts a token up to and including timestamp + ttl', () => {
    expect(f.decryptAtTime(token, 60, T0 + 60)).toEqual(new TextEncoder().encode('timed'));
    expectInvalidToken(() => f.decryptAtTime(token, 60, T0 + 61));
  });

  it('accepts up to 60 seconds of clock skew into the future, and no more', () => {
    expect(f.decryptAtTime(token, 10, T0 - 60)).toEqual(new TextEncoder().encode('timed'));
    expectInvalidToken(() => f.decryptAtTime(token, 10, T0 - 61));
  });

  it('does no time check without a ttl', () => {
    expect(f.decrypt(token)).toEqual(new TextEncoder().encode('timed'));
    const future = f.encryptAtTime('future', Math.floor(Date.now() / 1000) + 3600);
    expect(new TextDecoder().decode(f.decrypt(future))).toBe('future');
    expectInvalidToken(() => f.decrypt(future, { ttl: 10 }));
  });

  it('checks decrypt({ ttl }) against the current clock', () => {
    expectInvalidToken(() => f.decrypt(token, { ttl: 60 }));
    const fresh = f.encrypt('fresh');
    expect(new TextDecoder().decode(f.decrypt(fresh, { ttl: 60 }))).toBe('fresh');
  });

  it('requires a ttl for decryptAtTime, and sane times: InvalidArgument naming them', () => {
    expect(() => f.decryptAtTime(token, undefined as unknown as number, T0)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/ttl/) }),
    );
    expect(() => f.decryptAtTime(token, 10, -1)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/currentTime/) }),
    );
    expect(() => f.encryptAtTime('x', 1.5)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => f.decrypt(token, { ttl: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/ttl/) }),
    );
  });

  it('checks decrypt options: unknown names and wrong types are InvalidArgument', () => {
    expect(() => f.decrypt(token, { tll: 60 } as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: "Fernet.decrypt: unknown option 'tll' (known: ttl)",
      }),
    );
    expect(() => f.decrypt(token, 60 as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: 'Fernet.decrypt: options must be a plain object (known: ttl), got a number',
      }),
    );
    expect(() => f.decrypt(token, { ttl: '60' as never })).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(/'ttl' must be/) }),
    );
    // Absent, undefined and null mean no TTL, as Python's ttl=None.
    expect(new TextDecoder().decode(f.decrypt(token, { ttl: undefined }))).toBe('timed');
    expect(new TextDecoder().decode(f.decrypt(token, { ttl: null as never }))).toBe('timed');
  });

  it('refuses data that is neither a string nor bytes with InvalidArgument', () => {
    expect(() => f.encrypt(42 as never)).toThrow(
      expect.objectContaining({
        code: 'InvalidArgument',
        message: 'data must be a string or a Uint8Array, got a number',
      }),
    );
  });

  it('extracts the timestamp of an authentic token only', () => {
    expect(f.extractTimestamp(token)).toBe(T0);
    expectInvalidToken(() => new Fernet(Fernet.generateKey()).extractTimestamp(token));
    expectInvalidToken(() => f.extractTimestamp(flipBit(token, 30)));
  });

  it('encodes timestamps beyond 32 bits', () => {
    const late = 2 ** 33 + 5;
    const t = f.encryptAtTime('late', late);
    expect(f.extractTimestamp(t)).toBe(late);
  });
});

describe('Fernet payload limit', () => {
  it('refuses more than 256 MiB before any work, with InvalidArgument naming the limit', async () => {
    const { MAX_PAYLOAD_BYTES } = await import('../payload-limit.js');
    const f = new Fernet(Fernet.generateKey());
    // allocUnsafe: the pages are never touched, since nothing is read before the refusal.
    expect(() => f.encrypt(Buffer.allocUnsafe(MAX_PAYLOAD_BYTES + 1))).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('256 MiB') }),
    );
  });
});

describe('Fernet.forDataKey (one message, the Keystore payload cipher)', () => {
  it('reads and writes the tokens of a normal Fernet of the same key, and destroy zeroes its copy', () => {
    const key = new Uint8Array(32).map((_, i) => i + 1);
    const normal = new Fernet(key);
    const once = Fernet.forDataKey(key);
    expect(Buffer.from(once.decrypt(normal.encrypt('x'))).toString()).toBe('x');
    expect(Buffer.from(normal.decrypt(once.encrypt('y'))).toString()).toBe('y');
    expect(key[0]).toBe(1); // the caller's key is copied, not taken
    const token = normal.encrypt('z');
    once.destroy();
    // Its key is zeros now: it refuses to seal or open anything rather than use them.
    for (const use of [
      () => once.encrypt('z'),
      () => once.decrypt(token),
      () => once.extractTimestamp(token),
    ]) {
      expect(use).toThrow(
        expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('destroyed') }),
      );
    }
  });
});
