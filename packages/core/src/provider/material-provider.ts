import { type KeyObject, randomFillSync, timingSafeEqual } from 'node:crypto';
import {
  Closed,
  InvalidArgument,
  isKeystoreError,
  KeyExists,
  KeyNotFound,
  UnsupportedOperation,
} from '../errors/keystore-error.js';
import {
  type CreateKeyOptions,
  type DataKey,
  type DeleteKeyOptions,
  type GenerateDataKeyInput,
  type KeyMaterial,
  type KeyMetadata,
  type KeyProvider,
  type KeyVersionInfo,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from './key-provider.js';
import { deriveWrappingKey, localUnwrap, localWrap } from './local-wrap.js';
import { latestVersionOf, type MaterialStore, type StoredKey, type StoredVersion } from './material-store.js';

export const MATERIAL_LENGTH = 32;
const MAX_WRITE_ATTEMPTS = 100;

function metadataOf(key: StoredKey): KeyMetadata {
  const latest = key.versions[key.versions.length - 1] as StoredVersion;
  return {
    keyId: key.keyId,
    latestVersion: latest.version,
    createdAt: key.createdAt,
    ...(key.description === undefined ? {} : { description: key.description }),
  };
}

function copyMaterial(material: Uint8Array): Uint8Array {
  if (!(material instanceof Uint8Array) || material.length !== MATERIAL_LENGTH) {
    throw new InvalidArgument(`key material must be ${MATERIAL_LENGTH} bytes`);
  }
  return new Uint8Array(material);
}

/**
 * A full `KeyProvider` over a `MaterialStore`: local wraps (AES-256-GCM under
 * a key derived from the version's material), data keys, rotation, re-wrap.
 * Derived wrapping keys are cached per key version, so material is turned
 * into a KeyObject once.
 */
export function createMaterialProvider(store: MaterialStore): KeyProvider {
  const wrappingKeys = new Map<string, { material: Uint8Array; key: KeyObject }>();
  let closed = false;
  const randomMaterial = () => randomFillSync(new Uint8Array(MATERIAL_LENGTH));
  const now = () => new Date().toISOString();

  const capabilities: ProviderCapabilities = Object.freeze({
    generateDataKey: true,
    // The data key is at hand here: the core re-wraps by unwrap and wrap, checking the payload in between.
    rewrapKey: false,
    batch: false,
    getKey: true,
    createKey: store.writable,
    importKey: store.writable,
    listKeys: true,
    listVersions: true,
    rotateKey: store.writable,
    deleteKey: store.writable,
  });

  async function loadKey(keyId: string): Promise<StoredKey> {
    const key = await store.load(keyId);
    // A close that ran while the store was loading may have zeroed the material: never use it.
    if (closed) throw new Closed(`the ${store.type} provider is closed`);
    if (key === undefined)
      throw new KeyNotFound(`key '${keyId}' does not exist in the ${store.type} provider`);
    return key;
  }

  /** The given version; without one, the newest enabled version (a disabled one still unwraps, never wraps). */
  function versionOf(key: StoredKey, version: number | undefined): StoredVersion {
    const found =
      version === undefined
        ? key.versions.findLast((v) => v.state === 'enabled')
        : key.versions.find((v) => v.version === version);
    if (found === undefined) {
      throw new KeyNotFound(
        version === undefined
          ? `key '${key.keyId}' has no enabled version`
          : `key '${key.keyId}' has no version ${version}`,
      );
    }
    return found;
  }

  function wrappingKeyOf(keyId: string, v: StoredVersion): KeyObject {
    const id = `${keyId}\u0000${v.version}`;
    const cached = wrappingKeys.get(id);
    // Same material object (or equal bytes) as when derived: reuse; a store that replaced it gets a fresh derivation.
    if (
      cached !== undefined &&
      (cached.material === v.material ||
        (cached.material.length === v.material.length && timingSafeEqual(cached.material, v.material)))
    ) {
      return cached.key;
    }
    const key = deriveWrappingKey(v.material);
    wrappingKeys.set(id, { material: v.material, key });
    return key;
  }

  function writable(operation: string): Required<Pick<MaterialStore, 'save' | 'remove'>> {
    if (!store.writable || store.save === undefined || store.remove === undefined) {
      throw new UnsupportedOperation(
        `the ${store.type} provider is read-only: ${operation} is not supported`,
      );
    }
    return { save: store.save.bind(store), remove: store.remove.bind(store) };
  }

  async function wrapKey(input: WrapKeyInput): Promise<WrappedKey> {
    const key = await loadKey(input.keyId);
    const v = versionOf(key, undefined);
    const binding = {
      providerType: store.type,
      keyId: input.keyId,
      version: v.version,
      context: input.context,
    };
    const ciphertext = localWrap(wrappingKeyOf(input.keyId, v), input.plaintext, binding);
    return { keyId: input.keyId, version: v.version, ciphertext };
  }

  async function unwrapKey(input: UnwrapKeyInput): Promise<Uint8Array> {
    const key = await loadKey(input.keyId);
    const v = versionOf(key, input.version);
    const binding = {
      providerType: store.type,
      keyId: input.keyId,
      version: v.version,
      context: input.context,
    };
    return localUnwrap(wrappingKeyOf(input.keyId, v), input.ciphertext, binding);
  }

  /** Adds a version; a concurrent writer's version is kept and ours goes on top (bounded retries). */
  async function addVersion(keyId: string, material: Uint8Array): Promise<KeyMetadata> {
    const { save } = writable('rotateKey');
    for (let attempt = 1; ; attempt++) {
      const key = await loadKey(keyId);
      const latest = latestVersionOf(key);
      const next: StoredKey = {
        ...key,
        versions: [...key.versions, { version: latest + 1, createdAt: now(), state: 'enabled', material }],
      };
      try {
        await save(next, latest);
        return metadataOf(next);
      } catch (error) {
        if (!isKeystoreError(error, 'Conflict') || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  const provider: KeyProvider = {
    specificationVersion: SPECIFICATION_VERSION,
    type: store.type,
    capabilities,
    wrapKey,
    unwrapKey,

    async generateDataKey(input: GenerateDataKeyInput): Promise<DataKey> {
      const plaintext = randomFillSync(new Uint8Array(input.length));
      try {
        return {
          plaintext,
          wrapped: await wrapKey({ keyId: input.keyId, plaintext, context: input.context }),
        };
      } catch (error) {
        plaintext.fill(0);
        throw error;
      }
    },

    async getKey(keyId: string, version?: number): Promise<KeyMaterial> {
      const v = versionOf(await loadKey(keyId), version);
      return { keyId, version: v.version, material: new Uint8Array(v.material) };
    },

    async createKey(keyId: string, options?: CreateKeyOptions): Promise<KeyMetadata> {
      const { save } = writable('createKey');
      const material = randomMaterial();
      const createdAt = now();
      const key: StoredKey = {
        keyId,
        createdAt,
        ...(options?.description === undefined ? {} : { description: options.description }),
        versions: [{ version: 1, createdAt, state: 'enabled', material }],
      };
      if ((await store.load(keyId)) !== undefined) throw new KeyExists(`key '${keyId}' already exists`);
      await save(key, 0);
      return metadataOf(key);
    },

    async importKey(keyId: string, material: Uint8Array, options?: CreateKeyOptions): Promise<KeyMetadata> {
      const { save } = writable('importKey');
      const copy = copyMaterial(material);
      if ((await store.load(keyId)) !== undefined) return addVersion(keyId, copy);
      const createdAt = now();
      const key: StoredKey = {
        keyId,
        createdAt,
        ...(options?.description === undefined ? {} : { description: options.description }),
        versions: [{ version: 1, createdAt, state: 'enabled', material: copy }],
      };
      await save(key, 0);
      return metadataOf(key);
    },

    async listKeys(): Promise<KeyMetadata[]> {
      return (await store.list())
        .map(metadataOf)
        .sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    },

    async listVersions(keyId: string): Promise<KeyVersionInfo[]> {
      return (await loadKey(keyId)).versions.map(({ version, createdAt, state }) => ({
        version,
        createdAt,
        state,
      }));
    },

    rotateKey(keyId: string): Promise<KeyMetadata> {
      return addVersion(keyId, randomMaterial());
    },

    async deleteKey(keyId: string, options: DeleteKeyOptions): Promise<void> {
      const { remove } = writable('deleteKey');
      await loadKey(keyId);
      if (options?.confirm !== keyId) {
        throw new InvalidArgument(
          `deleting key '${keyId}' makes everything it encrypted undecryptable; pass { confirm: '${keyId}' } to delete it`,
        );
      }
      await remove(keyId);
      for (const id of wrappingKeys.keys()) if (id.startsWith(`${keyId}\u0000`)) wrappingKeys.delete(id);
    },

    async close(): Promise<void> {
      closed = true;
      wrappingKeys.clear();
      await store.close();
    },
  };
  // Not enumerable: a wrapper spreading the provider does not carry the store along by accident.
  Object.defineProperty(provider, MATERIAL_STORE, { value: store });
  return provider;
}

const MATERIAL_STORE = Symbol.for('@keystore/core/material-store');

/**
 * The material store a provider made by `createMaterialProvider` is built
 * on, else `undefined`: the hook a cache uses to cache material rather than
 * calls, by building `createMaterialProvider(itsCachingStore(store))` (the
 * provider loads from its store on every wrap and unwrap).
 */
export function materialStoreOf(provider: KeyProvider): MaterialStore | undefined {
  return (provider as { [MATERIAL_STORE]?: MaterialStore })[MATERIAL_STORE];
}
