import { createHash, randomBytes } from 'node:crypto';
import { canonicalContext, type UnwrapKeyInput } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import {
  dataKeyEntryName,
  dataKeyLocalKey,
  generationName,
  keyTag,
  materialEntryName,
} from '../src/cache/entry-names.js';

/** The README's definition, digest update by update: what the one-buffer digest must equal. */
function expectedName(input: UnwrapKeyInput): string {
  const hash = createHash('sha256');
  const prefixed = (bytes: Uint8Array) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  prefixed(Buffer.from(input.keyId, 'utf8'));
  const version = Buffer.alloc(8);
  version.writeBigUInt64BE(BigInt(input.version));
  hash.update(version);
  prefixed(input.ciphertext);
  prefixed(canonicalContext(input.context));
  const tag = createHash('sha256').update(input.keyId, 'utf8').digest('hex');
  return `d:{${tag}}:${hash.digest('hex')}`;
}

describe('entry names', () => {
  it('name a data key by the length-prefixed digest of key id, version, wrapped key and context', () => {
    for (let i = 0; i < 300; i++) {
      const input: UnwrapKeyInput = {
        keyId: `k-${randomBytes(i % 9).toString('hex')}-ü`,
        version: 1 + i * 7919,
        ciphertext: randomBytes(i),
        context: i % 3 === 0 ? {} : { table: 'patients', id: String(i), région: 'zürich' },
      };
      expect(dataKeyEntryName(input)).toBe(expectedName(input));
    }
  });

  it('keep inputs apart that a plain concatenation would join', () => {
    const base = { version: 1, context: {} };
    const a = dataKeyEntryName({ ...base, keyId: 'ab', ciphertext: Buffer.from('c') });
    const b = dataKeyEntryName({ ...base, keyId: 'a', ciphertext: Buffer.from('bc') });
    expect(a).not.toBe(b);
  });

  it("give a key id's tag as its SHA-256, also past the tags remembered (1024)", () => {
    const ids = Array.from({ length: 2100 }, (_, i) => `key-${i}`);
    for (const round of [0, 1]) {
      for (const id of round === 0 ? ids : [...ids].reverse()) {
        expect(keyTag(id)).toBe(createHash('sha256').update(id, 'utf8').digest('hex'));
      }
    }
    const tag = keyTag('patients');
    expect(materialEntryName(tag)).toBe(`m:{${tag}}`);
    expect(generationName(tag)).toBe(`g:{${tag}}`);
  });

  it('give a data key an L1 key that no other input shares, joins and splits included', () => {
    const inputs: UnwrapKeyInput[] = [];
    const parts = ['', 'a', '1', ':', '1:a', 'a1:', 'é', '\u0000'];
    for (const keyId of parts.filter((p) => p !== '')) {
      for (const ct of parts) {
        for (const version of [1, 11, 2]) {
          const contexts: Record<string, string>[] = [
            {},
            { a: '1' },
            { a: '1:' },
            { 'a:': '1' },
            { a: '1', b: '' },
          ];
          for (const context of contexts) {
            inputs.push({ keyId, version, ciphertext: Buffer.from(ct, 'utf8'), context });
          }
        }
      }
    }
    const seen = new Map<string, string>();
    for (const input of inputs) {
      const key = dataKeyLocalKey(input);
      expect(dataKeyLocalKey({ ...input, ciphertext: new Uint8Array(input.ciphertext) })).toBe(key);
      const name = dataKeyEntryName(input);
      // One key per Redis name and one name per key: the L1 and Redis tell the same inputs apart.
      expect(seen.get(key) ?? name).toBe(name);
      seen.set(key, name);
    }
    expect(new Set(seen.values()).size).toBe(seen.size);
    expect(seen.size).toBe(new Set(inputs.map((i) => dataKeyEntryName(i))).size);
  });
});
