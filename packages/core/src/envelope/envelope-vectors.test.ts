import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { base64UrlVariants } from '../../test/support/base64url-variants.js';
import { vectorProvider } from '../../test/support/vector-provider.js';
import type { EncryptionContext } from '../context/encryption-context.js';
import { Keystore } from '../keystore/keystore.js';

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
  return new Keystore({ provider: vectorProvider(v, latest), defaultKey: v.keyId });
}

const py = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
const havePython = py.status === 0;
if (!havePython && process.env.CI !== 'true') {
  console.warn('SKIP envelope Python reader: python3 with the cryptography package is not installed');
}
type PythonVerdict = { plaintextHex?: string; error?: string };
const reader = fileURLToPath(new URL('examples/read_envelope.py', docs));
function pythonRead(request: object): PythonVerdict {
  const run = spawnSync('python3', [reader], { input: JSON.stringify(request), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`read_envelope.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}
/** The reader's verdict on many requests in one process (its `read` is what its command line prints). */
function pythonReadMany(requests: object[]): PythonVerdict[] {
  const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
from read_envelope import read
print(json.dumps([read(r) for r in json.load(sys.stdin)]))
`;
  const dir = fileURLToPath(new URL('examples/', docs));
  const run = spawnSync('python3', ['-c', script, dir], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`read_envelope.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/**
 * An envelope of `size` plaintext bytes whose header and payload both have
 * '-' and '_', so that every kind of variant of each exists.
 */
async function envelopeWithBothSpecials(ks: Keystore, size: number, context: EncryptionContext) {
  for (;;) {
    const envelope = await ks.encrypt(Buffer.alloc(size, 0x63), { context });
    const [, header = '', payload = ''] = envelope.split('.');
    if ([header, payload].every((part) => part.includes('-') && part.includes('_'))) {
      return { envelope, header, payload };
    }
  }
}

/** Every other spelling of the envelope: of its header (canonically unpadded) and of its payload (padded). */
function envelopeVariants(header: string, payload: string) {
  return [
    ...base64UrlVariants(header, false).map((v) => ({
      kind: `header: ${v.kind}`,
      envelope: `ks1.${v.text}.${payload}`,
    })),
    ...base64UrlVariants(payload, true).map((v) => ({
      kind: `payload: ${v.kind}`,
      envelope: `ks1.${header}.${v.text}`,
    })),
  ];
}

const source = {
  provider: 'file',
  keyId: 'records',
  version: 1,
  masterMaterial: Buffer.alloc(32, 9).toString('base64url'),
};
const sourceContext = { table: 'patients' };

describe('envelope format v1 vectors', () => {
  it.each(vectors.valid)('the library decrypts: $description', async (v) => {
    const ks = keystoreFor(v);
    expect(ks.inspect(v.envelope)).toEqual({
      provider: v.provider,
      keyId: v.keyId,
      version: v.version,
      algorithm: 'fernet',
      format: 1,
      recipients: [{ provider: v.provider, keyId: v.keyId, version: v.version }],
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

    it('rejects every invalid vector', () => {
      const requests = vectors.invalid.map((bad) => {
        const source = vectors.valid[bad.envelope === vectors.valid[1]?.envelope ? 1 : 0] as Valid;
        return { ...source, material: source.masterMaterial, envelope: bad.envelope, context: bad.context };
      });
      expect(pythonReadMany(requests)).toEqual(requests.map(() => ({ error: 'InvalidToken' })));
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

// The payload's Fernet token has two, one and no `=` of padding at 0, 16 and 32 bytes.
describe.each([0, 16, 32])('one envelope of %i bytes, one encoding', (size) => {
  it('the library decrypts the canonical envelope and refuses every other spelling', async () => {
    const ks = keystoreFor(source);
    const { envelope, header, payload } = await envelopeWithBothSpecials(ks, size, sourceContext);
    expect(Buffer.from(await ks.decrypt(envelope, { context: sourceContext }))).toEqual(
      Buffer.alloc(size, 0x63),
    );
    const variants = envelopeVariants(header, payload);
    expect(variants.length).toBeGreaterThan(40);
    for (const v of variants) {
      const context = sourceContext;
      await expect(ks.decrypt(v.envelope, { context }), v.kind).rejects.toMatchObject({
        code: 'InvalidToken',
      });
      // Re-encryption keeps the payload as it is: it must not carry a non-canonical one into a new envelope.
      await expect(ks.reencrypt(v.envelope, { context }), v.kind).rejects.toMatchObject({
        code: 'InvalidToken',
      });
      expect(() => ks.inspect(v.envelope), v.kind).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    }
  });

  it.runIf(havePython || process.env.CI === 'true')(
    'the Python reader gives the same verdict on every spelling',
    async () => {
      const ks = keystoreFor(source);
      const { envelope, header, payload } = await envelopeWithBothSpecials(ks, size, sourceContext);
      const cases = [{ kind: 'canonical', envelope }, ...envelopeVariants(header, payload)];
      const request = { ...source, material: source.masterMaterial, context: sourceContext };
      const python = pythonReadMany(cases.map((c) => ({ ...request, envelope: c.envelope })));
      const ours = await Promise.all(
        cases.map(async (c): Promise<PythonVerdict> => {
          try {
            const plaintext = await ks.decrypt(c.envelope, { context: sourceContext });
            return { plaintextHex: Buffer.from(plaintext).toString('hex') };
          } catch (error) {
            return { error: (error as { code?: string }).code ?? String(error) };
          }
        }),
      );
      expect(python.map((p, i) => ({ kind: cases[i]?.kind, ...p }))).toEqual(
        ours.map((o, i) => ({ kind: cases[i]?.kind, ...o })),
      );
      expect(ours[0]).toEqual({ plaintextHex: Buffer.alloc(size, 0x63).toString('hex') });
    },
  );
});
