import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EncryptionContext } from '../context/encryption-context.js';
import { Keystore } from '../keystore/keystore.js';
import { createMaterialProvider } from '../provider/material-provider.js';
import type { StoredVersion } from '../provider/material-store.js';

/**
 * docs/envelope-format.md's vectors: made by a second implementation written
 * from the page, read here by the library and by a Python reader written
 * from the page, so the page, the vectors and the library agree.
 */
const docs = new URL('../../../../docs/', import.meta.url);
interface Valid {
  description: string;
  provider: string;
  keyId: string;
  version: number;
  context: Record<string, string>;
  plaintextHex: string;
  masterMaterial: string;
  envelope: string;
}
const vectors = JSON.parse(readFileSync(new URL('vectors/envelope-v1.json', docs), 'utf8')) as {
  valid: Valid[];
  invalid: { description: string; envelope: string; context: Record<string, string> }[];
};

/** A keystore whose provider (of the vector's type) holds the material as version `version` of `keyId`, of `latest` versions. */
function keystoreFor(
  v: Pick<Valid, 'provider' | 'keyId' | 'version' | 'masterMaterial'>,
  latest = v.version,
): Keystore {
  const material = new Uint8Array(Buffer.from(v.masterMaterial, 'base64url'));
  const versions: StoredVersion[] = Array.from({ length: latest }, (_, i) => ({
    version: i + 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    state: 'enabled',
    material: i + 1 === v.version ? material : new Uint8Array(32).fill(i + 1),
  }));
  const key = { keyId: v.keyId, createdAt: '2026-01-01T00:00:00.000Z', versions };
  const provider = createMaterialProvider({
    type: v.provider,
    writable: false,
    load: async (id) => (id === v.keyId ? key : undefined),
    list: async () => [key],
    close: async () => {},
  });
  return new Keystore({ provider, defaultKey: v.keyId });
}

const py = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
const havePython = py.status === 0;
if (!havePython && process.env.CI !== 'true') {
  console.warn('SKIP envelope Python reader: python3 with the cryptography package is not installed');
}
function pythonRead(request: object): { plaintextHex?: string; error?: string } {
  const script = fileURLToPath(new URL('examples/read_envelope.py', docs));
  const run = spawnSync('python3', [script], { input: JSON.stringify(request), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`read_envelope.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('envelope format v1 vectors', () => {
  it.each(vectors.valid)('the library decrypts: $description', async (v) => {
    const ks = keystoreFor(v);
    expect(ks.inspect(v.envelope)).toEqual({
      provider: v.provider,
      keyId: v.keyId,
      version: v.version,
      algorithm: 'fernet',
    });
    const plaintext = await ks.decrypt(v.envelope, { context: v.context as EncryptionContext });
    expect(Buffer.from(plaintext).toString('hex')).toBe(v.plaintextHex);
  });

  it.each(vectors.invalid)('the library rejects: $description', async (bad) => {
    const source = vectors.valid[bad.envelope === vectors.valid[1]?.envelope ? 1 : 0] as Valid;
    // One version more than the source has, so an envelope naming the next version finds a key (the wrong one).
    const ks = keystoreFor(source, source.version + 1);
    await expect(ks.decrypt(bad.envelope, { context: bad.context })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
  });
});

describe.runIf(havePython || process.env.CI === 'true')(
  'a Python reader written from the format page',
  () => {
    it('decrypts every valid vector', () => {
      for (const v of vectors.valid) {
        expect(pythonRead({ ...v, material: v.masterMaterial })).toEqual({ plaintextHex: v.plaintextHex });
      }
    });

    it('decrypts envelopes the library makes now, and rejects a wrong context', async () => {
      const v = {
        provider: 'file',
        keyId: 'records',
        version: 2,
        masterMaterial: Buffer.alloc(32, 7).toString('base64url'),
      };
      const ks = keystoreFor(v);
      const context = { tenant: 'north', ünï: 'cødé' };
      const data = Buffer.from('payload from the library, readable in Python');
      const envelope = await ks.encrypt(data, { context });
      const request = { ...v, material: v.masterMaterial, envelope, context };
      expect(pythonRead(request)).toEqual({ plaintextHex: data.toString('hex') });
      expect(pythonRead({ ...request, context: { tenant: 'south', ünï: 'cødé' } })).toEqual({
        error: 'InvalidToken',
      });
    });
  },
);
