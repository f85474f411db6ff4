import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PBKDF2_ITERATIONS,
  DEFAULT_SCRYPT,
  deriveMasterKey,
  KDF_LIMITS,
  kdfParamsProblem,
  resolveKdfOptions,
} from './kdf.js';
import { openMaterial, sealMaterial } from './material.js';
import { deriveFileKeys } from './subkeys.js';

describe('kdf', () => {
  it('defaults to scrypt at OWASP cost, and fills in omitted costs', () => {
    expect(resolveKdfOptions(undefined)).toEqual({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(resolveKdfOptions({ name: 'scrypt', N: 2 ** 12 })).toEqual({
      name: 'scrypt',
      N: 4096,
      r: 8,
      p: 1,
    });
    expect(resolveKdfOptions({ name: 'pbkdf2-sha256' })).toEqual({
      name: 'pbkdf2-sha256',
      iterations: 600_000,
    });
    expect(DEFAULT_SCRYPT).toEqual({ N: 131072, r: 8, p: 1 });
    expect(DEFAULT_PBKDF2_ITERATIONS).toBe(600_000);
  });

  it('rejects absurd costs with ConfigError naming the field', () => {
    for (const bad of [
      { name: 'scrypt', N: 2 ** 9 },
      { name: 'scrypt', N: 1000 },
      { name: 'scrypt', N: 2 ** 21 },
      { name: 'scrypt', r: 0 },
      { name: 'scrypt', p: 17 },
      { name: 'scrypt', N: 2 ** 20, r: 16 },
      { name: 'pbkdf2-sha256', iterations: 999 },
      { name: 'pbkdf2-sha256', iterations: 1.5e3 + 0.5 },
      { name: 'bcrypt' },
    ] as const) {
      expect(() => resolveKdfOptions(bad as never), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'ConfigError', message: expect.stringContaining('kdf') }),
      );
    }
  });

  it('caps scrypt memory at 256 MiB and work at 8x the default, PBKDF2 at 10x the default', () => {
    expect(KDF_LIMITS.scryptMaxMemory).toBe(256 * 2 ** 20);
    expect(KDF_LIMITS.scryptMaxWork).toBe(8 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r * DEFAULT_SCRYPT.p);
    expect(KDF_LIMITS.pbkdf2MaxIterations).toBe(10 * DEFAULT_PBKDF2_ITERATIONS);
    const over: [object, RegExp][] = [
      // The edited block of the issue: 0.9 GiB and 112x the default work.
      [{ name: 'scrypt', N: 2 ** 20, r: 7, p: 16 }, /scrypt N \* r .*256 MiB/],
      [{ name: 'scrypt', N: 2 ** 19, r: 8, p: 1 }, /scrypt N \* r .*256 MiB/],
      [{ name: 'scrypt', N: 2 ** 17, r: 8, p: 9 }, /scrypt N \* r \* p/],
      [{ name: 'scrypt', N: 2 ** 14, r: 8, p: 16 * 8 }, /scrypt p/],
      [{ name: 'pbkdf2-sha256', iterations: 6_000_001 }, /pbkdf2-sha256 iterations/],
    ];
    for (const [params, message] of over) {
      expect(kdfParamsProblem(params as never), JSON.stringify(params)).toMatch(message);
      expect(() => resolveKdfOptions(params as never)).toThrow(
        expect.objectContaining({ code: 'ConfigError', message: expect.stringMatching(message) }),
      );
    }
    // What the library writes by default, OWASP's other scrypt settings, and the maxima themselves.
    for (const params of [
      { name: 'scrypt', ...DEFAULT_SCRYPT },
      { name: 'scrypt', N: 2 ** 16, r: 8, p: 2 },
      { name: 'scrypt', N: 2 ** 15, r: 8, p: 3 },
      { name: 'scrypt', N: 2 ** 14, r: 8, p: 5 },
      { name: 'scrypt', N: 2 ** 13, r: 8, p: 10 },
      { name: 'scrypt', N: 2 ** 18, r: 8, p: 4 },
      { name: 'scrypt', N: 2 ** 20, r: 2, p: 4 },
      { name: 'pbkdf2-sha256', iterations: DEFAULT_PBKDF2_ITERATIONS },
      { name: 'pbkdf2-sha256', iterations: 6_000_000 },
    ]) {
      expect(kdfParamsProblem(params as never), JSON.stringify(params)).toBeUndefined();
    }
  });

  it('derives what node:crypto derives, asynchronously', async () => {
    const salt = randomBytes(32);
    const pending = deriveMasterKey(Buffer.from('pw'), salt, { name: 'scrypt', N: 1024, r: 8, p: 1 });
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(scryptSync('pw', salt, 32, { N: 1024, r: 8, p: 1 }));
    expect(
      await deriveMasterKey(Buffer.from('pw'), salt, { name: 'pbkdf2-sha256', iterations: 1000 }),
    ).toEqual(pbkdf2Sync('pw', salt, 1000, 32, 'sha256'));
  });
});

describe('file subkeys and material sealing', () => {
  it('derives distinct subkeys, and another salt gives other keys', () => {
    const master = randomBytes(32);
    const salt = randomBytes(32);
    const a = deriveFileKeys(master, salt);
    const b = deriveFileKeys(master, randomBytes(32));
    expect(a.material.export()).not.toEqual(a.mac.export());
    expect(a.verifier).not.toEqual(a.material.export());
    expect(a.verifier).not.toEqual(b.verifier);
    expect(deriveFileKeys(master, salt).verifier).toEqual(a.verifier);
  });

  it('seals material bound to its alias and version; any change does not open', () => {
    const keys = deriveFileKeys(randomBytes(32), randomBytes(32));
    const material = randomBytes(32);
    const sealed = sealMaterial(keys.material, 'app-data', 2, material);
    expect(Buffer.from(sealed, 'base64url')).toHaveLength(60);
    expect(openMaterial(keys.material, 'app-data', 2, sealed)).toEqual(new Uint8Array(material));
    expect(sealMaterial(keys.material, 'app-data', 2, material)).not.toBe(sealed);
    expect(openMaterial(keys.material, 'app-data', 1, sealed)).toBeUndefined();
    expect(openMaterial(keys.material, 'app-datb', 2, sealed)).toBeUndefined();
    expect(openMaterial(keys.mac, 'app-data', 2, sealed)).toBeUndefined();
    const bytes = Buffer.from(sealed, 'base64url');
    for (const i of [0, 12, 43, 44, 59]) {
      const flipped = Buffer.from(bytes);
      flipped[i] = (flipped[i] as number) ^ 0x80;
      expect(openMaterial(keys.material, 'app-data', 2, flipped.toString('base64url'))).toBeUndefined();
    }
    expect(openMaterial(keys.material, 'app-data', 2, sealed.slice(0, 40))).toBeUndefined();
  });
});
