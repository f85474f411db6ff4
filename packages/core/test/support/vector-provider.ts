import type { KeyProvider } from '../../src/provider/key-provider.js';
import { createMaterialProvider } from '../../src/provider/material-provider.js';
import type { StoredVersion } from '../../src/provider/material-store.js';

/** A test vector's key: provider type, key id, the version its material is, and that material (base64url). */
export interface VectorKey {
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  readonly masterMaterial: string;
}

/**
 * A read-only provider of the vector's type holding its material as version
 * `version` of its key, among `latest` versions (the others other bytes), so
 * an envelope naming a neighbouring version finds a key, the wrong one.
 */
export function vectorProvider(v: VectorKey, latest = v.version): KeyProvider {
  const material = new Uint8Array(Buffer.from(v.masterMaterial, 'base64url'));
  const versions: StoredVersion[] = Array.from({ length: latest }, (_, i) => ({
    version: i + 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    state: 'enabled',
    material: i + 1 === v.version ? material : new Uint8Array(32).fill(i + 1),
  }));
  const key = { keyId: v.keyId, createdAt: '2026-01-01T00:00:00.000Z', versions };
  return createMaterialProvider({
    type: v.provider,
    writable: false,
    load: async (id) => (id === v.keyId ? key : undefined),
    list: async () => [key],
    close: async () => {},
  });
}
