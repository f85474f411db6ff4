import { describe, expect, it } from 'vitest';
import { checkExpectedLatest, latestVersionOf, type StoredKey, zeroMaterial } from './material-store.js';

function key(versions: number[]): StoredKey {
  return {
    keyId: 'k',
    createdAt: '2026-01-01T00:00:00.000Z',
    versions: versions.map((version) => ({
      version,
      createdAt: '2026-01-01T00:00:00.000Z',
      state: 'enabled' as const,
      material: new Uint8Array(32).fill(version),
    })),
  };
}

describe('material store helpers', () => {
  it('latestVersionOf: the last version, 0 for a missing key', () => {
    expect(latestVersionOf(undefined)).toBe(0);
    expect(latestVersionOf(key([1, 2, 5]))).toBe(5);
  });

  it('checkExpectedLatest: KeyExists when creating a key that is there, Conflict when another writer moved it', () => {
    expect(() => checkExpectedLatest('k', undefined, 0)).not.toThrow();
    expect(() => checkExpectedLatest('k', key([1, 2]), 2)).not.toThrow();
    expect(() => checkExpectedLatest('k', key([1]), 0)).toThrow(
      expect.objectContaining({ code: 'KeyExists' }),
    );
    expect(() => checkExpectedLatest('k', key([1, 2, 3]), 2)).toThrow(
      expect.objectContaining({ code: 'Conflict' }),
    );
    expect(() => checkExpectedLatest('k', undefined, 1)).toThrow(
      expect.objectContaining({ code: 'Conflict' }),
    );
  });

  it('zeroMaterial: every version of every key', () => {
    const keys = [key([1, 2]), key([3])];
    zeroMaterial(keys);
    for (const k of keys) for (const v of k.versions) expect(v.material.every((b) => b === 0)).toBe(true);
  });
});
