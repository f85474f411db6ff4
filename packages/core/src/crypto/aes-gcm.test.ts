import { createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { localWrap } from '../provider/local-wrap.js';
import { materialAad, openMaterial, sealMaterial } from '../providers/file/format/material.js';
import { openAesGcm, sealAesGcm } from './aes-gcm.js';

const pool = vi.hoisted(() => ({ next: undefined as Buffer | undefined, draws: 0 }));
vi.mock('../random/iv-pool.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../random/iv-pool.js')>();
  return {
    ...real,
    nextIv: (length?: number) => {
      pool.draws++;
      return pool.next ?? real.nextIv(length);
    },
  };
});

const key = createSecretKey(randomBytes(32));
const aad = Buffer.from('aad');

describe('AES-256-GCM seal and open', () => {
  it('seals as nonce (12) | ciphertext | tag (16), which plain node:crypto opens', () => {
    const plaintext = randomBytes(32);
    const sealed = sealAesGcm(key, plaintext, aad);
    expect(sealed.length).toBe(12 + 32 + 16);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(44));
    expect(Buffer.concat([decipher.update(sealed.subarray(12, 44)), decipher.final()])).toEqual(plaintext);
    expect(Buffer.from(openAesGcm(key, sealed, aad) as Uint8Array)).toEqual(plaintext);
  });

  it('opens nothing tampered, too short, under another AAD or key', () => {
    const sealed = sealAesGcm(key, randomBytes(32), aad);
    for (let i = 0; i < sealed.length; i += 7) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] as number) ^ 1;
      expect(openAesGcm(key, bad, aad), `byte ${i}`).toBeUndefined();
    }
    expect(openAesGcm(key, sealed.subarray(0, 27), aad)).toBeUndefined();
    expect(openAesGcm(key, sealed, Buffer.from('other'))).toBeUndefined();
    expect(openAesGcm(createSecretKey(randomBytes(32)), sealed, aad)).toBeUndefined();
  });

  it('never repeats a nonce over many seals', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 5_000; i++)
      nonces.add(sealAesGcm(key, Buffer.alloc(1), aad).subarray(0, 12).toString('hex'));
    expect(nonces.size).toBe(5_000);
  });

  it('the local wrap and the file material draw their nonce the same way, from the IV pool', () => {
    pool.next = Buffer.alloc(12, 0xab);
    try {
      const before = pool.draws;
      const wrapped = localWrap(key, randomBytes(32), {
        providerType: 'memory',
        keyId: 'k',
        version: 1,
        context: {},
      });
      const material = Buffer.from(sealMaterial(key, 'k', 1, randomBytes(32)), 'base64url');
      expect(pool.draws - before).toBe(2);
      expect(wrapped.subarray(1, 13)).toEqual(pool.next);
      expect(material.subarray(0, 12)).toEqual(pool.next);
    } finally {
      pool.next = undefined;
    }
  });

  it('file material keeps its format: base64url of nonce | ciphertext | tag, bound to alias and version', () => {
    const plaintext = randomBytes(32);
    const sealed = sealMaterial(key, 'app-data', 3, plaintext);
    const bytes = Buffer.from(sealed, 'base64url');
    expect(bytes.length).toBe(60);
    expect(Buffer.from(openAesGcm(key, bytes, materialAad('app-data', 3)) as Uint8Array)).toEqual(plaintext);
    expect(openMaterial(key, 'app-data', 4, sealed)).toBeUndefined();
    expect(openMaterial(key, 'other', 3, sealed)).toBeUndefined();
  });
});
