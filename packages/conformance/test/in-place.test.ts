import {
  createMemoryProvider,
  IN_PLACE_VERSION,
  InvalidToken,
  KeyNotFound,
  type KeyProvider,
  type UnwrapKeyInput,
} from '@keystore/core';
import { describe, expect, it } from 'vitest';
import { type ConformanceReport, runConformance, runConformanceSuite } from '../src/index.js';

/**
 * A provider that rotates in place, as AWS KMS does, built on the memory
 * provider: its wrapped keys name the memory version inside the ciphertext
 * (the "backend" finds old material by itself) and always carry
 * IN_PLACE_VERSION outside; rotateKey adds memory material and answers the
 * same version.
 */
async function inPlaceProvider(options: { forgetOldMaterial?: boolean } = {}): Promise<KeyProvider> {
  const inner = await createMemoryProvider();
  const rotate = inner.rotateKey as NonNullable<KeyProvider['rotateKey']>;
  const latest = async (keyId: string) =>
    (await (inner.getKey as NonNullable<KeyProvider['getKey']>)(keyId)).version;
  const outer = (keyId: string, version: number, ciphertext: Uint8Array) => {
    const out = new Uint8Array(4 + ciphertext.length);
    new DataView(out.buffer).setUint32(0, version);
    out.set(ciphertext, 4);
    return { keyId, version: IN_PLACE_VERSION, ciphertext: out };
  };
  const innerInput = async (input: UnwrapKeyInput): Promise<UnwrapKeyInput> => {
    if (input.version !== IN_PLACE_VERSION) throw new KeyNotFound(`no version ${input.version}`);
    const newest = await latest(input.keyId); // KeyNotFound for an unknown key
    if (input.ciphertext.length < 5) throw new InvalidToken();
    const version = new DataView(input.ciphertext.buffer, input.ciphertext.byteOffset).getUint32(0);
    const oldest = options.forgetOldMaterial === true ? newest : 1;
    if (version < oldest || version > newest) throw new InvalidToken();
    return { ...input, version, ciphertext: input.ciphertext.subarray(4) };
  };
  return {
    specificationVersion: inner.specificationVersion,
    type: 'in-place-memory',
    versioning: 'in-place',
    capabilities: {
      ...inner.capabilities,
      generateDataKey: false,
      rewrapKey: false,
      batch: false,
      getKey: false,
      importKey: false,
      listVersions: false,
    },
    async wrapKey(input) {
      const w = await inner.wrapKey(input);
      return outer(w.keyId, w.version, w.ciphertext);
    },
    async unwrapKey(input) {
      return inner.unwrapKey(await innerInput(input));
    },
    async createKey(keyId, opts) {
      const meta = await (inner.createKey as NonNullable<KeyProvider['createKey']>)(keyId, opts);
      return { ...meta, latestVersion: IN_PLACE_VERSION };
    },
    async listKeys() {
      const keys = await (inner.listKeys as NonNullable<KeyProvider['listKeys']>)();
      return keys.map((k) => ({ ...k, latestVersion: IN_PLACE_VERSION }));
    },
    async rotateKey(keyId) {
      return { ...(await rotate(keyId)), latestVersion: IN_PLACE_VERSION };
    },
    deleteKey: inner.deleteKey?.bind(inner),
    close: () => inner.close(),
  } as KeyProvider;
}

const failedNames = (report: ConformanceReport) =>
  report.results.filter((r) => r.status === 'failed').map((r) => r.name);

runConformanceSuite({
  name: 'in-place (memory underneath)',
  describe,
  it,
  factory: async () => ({ provider: await inPlaceProvider() }),
});

describe('the rotation tests follow the declared versioning', () => {
  it('runs the rotation group for an in-place provider instead of skipping it', async () => {
    const report = await runConformance({ factory: async () => ({ provider: await inPlaceProvider() }) });
    expect(failedNames(report)).toEqual([]);
    const rotation = report.results.filter(
      (r) => r.group === 'rotation' && r.name !== 'getKey returns 32 bytes, stable per version',
    );
    expect(rotation.length).toBe(3);
    expect(rotation.every((r) => r.status === 'passed')).toBe(true);
  });

  it('fails an in-place provider whose old ciphertexts no longer decrypt after rotation', async () => {
    const report = await runConformance({
      factory: async () => ({ provider: await inPlaceProvider({ forgetOldMaterial: true }) }),
      filter: (t) => t.group === 'rotation' || t.group === 'keystore',
    });
    expect(failedNames(report)).toEqual(
      expect.arrayContaining([
        'rotation keeps old versions and wraps under the newest',
        'rewrapKey moves a wrapped key to the newest version',
        'Keystore rotation: new envelopes use the newest version, old ones still decrypt',
        'Keystore reencrypt moves an envelope to the newest version',
      ]),
    );
  });

  it('fails a provider that declares in-place but numbers its versions', async () => {
    const numbered = await createMemoryProvider();
    const report = await runConformance({
      factory: async () => ({ provider: { ...(await createMemoryProvider()), versioning: 'in-place' } }),
      filter: (t) => t.group === 'rotation',
    });
    await numbered.close();
    expect(failedNames(report)).toContain('rotation keeps old versions and wraps under the newest');
  });
});
