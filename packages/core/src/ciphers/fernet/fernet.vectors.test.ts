import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidToken } from '../../errors/invalid-token.js';
import { Fernet } from './fernet.js';

/** The Fernet specification's own acceptance tests, copied unchanged into the repo. */
const vectorsDir = new URL('../../../test/vectors/fernet/', import.meta.url);
function load<T>(name: string): T[] {
  return JSON.parse(readFileSync(new URL(name, vectorsDir), 'utf8')) as T[];
}
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Generate {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface Verify {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface Invalid {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

describe('Fernet spec vectors', () => {
  const generate = load<Generate>('generate.json');
  const verify = load<Verify>('verify.json');
  const invalid = load<Invalid>('invalid.json');

  it('has every case of the three files', () => {
    expect(generate.length).toBeGreaterThan(0);
    expect(verify.length).toBeGreaterThan(0);
    expect(invalid.length).toBe(8);
  });

  it.each(generate)('generate: $src at $now', (v) => {
    const f = new Fernet(v.secret);
    expect(f.encryptFromParts(Buffer.from(v.src), seconds(v.now), Uint8Array.from(v.iv))).toBe(v.token);
  });

  it.each(verify)('verify: $src at $now', (v) => {
    const f = new Fernet(v.secret);
    const plaintext = f.decryptAtTime(v.token, v.ttl_sec, seconds(v.now));
    expect(Buffer.from(plaintext).toString('utf8')).toBe(v.src);
    expect(f.extractTimestamp(v.token)).toBe(seconds(v.now) - 1);
  });

  it.each(invalid)('invalid: $desc', (v) => {
    const f = new Fernet(v.secret);
    let thrown: unknown;
    try {
      f.decryptAtTime(v.token, v.ttl_sec, seconds(v.now));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidToken);
    expect((thrown as InvalidToken).message).toBe(new InvalidToken().message);
    expect((thrown as InvalidToken).cause).toBeUndefined();
  });
});
