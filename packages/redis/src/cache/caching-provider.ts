import type { KeyProvider, UnwrapKeyInput } from '@keystore/core/provider';
import { dataKeyEntryName, dataKeyLocalKey, keyTag } from './entry-names.js';
import type { TieredCache } from './tiered-cache.js';

/**
 * A provider without a material store (Vault Transit, KMS, ...): its
 * unwrapped data keys are cached, under a digest of key id, version, wrapped
 * key and context (`d:<sha256>`). Key changes through it (rotate, delete,
 * import, create) invalidate the key's entries this process knows, and tell
 * other processes. Everything else goes to the provider as it is.
 *
 * A Proxy rather than a copy: a spread would lose a class provider's methods and private fields.
 */
export function cachingProvider(
  provider: KeyProvider,
  tiered: TieredCache,
  own: { readonly close: () => Promise<void>; readonly stats: () => unknown },
): KeyProvider {
  const entry = (input: UnwrapKeyInput) => {
    const tag = keyTag(input.keyId);
    // The L1 finds it by a plain key; the Redis name (a digest) is made only when the L1 misses.
    const ref = { key: dataKeyLocalKey(input), name: () => dataKeyEntryName(input, tag) };
    return { ref, tag };
  };

  async function unwrapKey(input: UnwrapKeyInput): Promise<Uint8Array> {
    const { ref, tag } = entry(input);
    const value = await tiered.get(ref, tag, () => provider.unwrapKey(input));
    // The provider's unwrapKey answers or throws: undefined never reaches here.
    return value as Uint8Array;
  }

  async function unwrapKeys(inputs: readonly UnwrapKeyInput[]): Promise<(Uint8Array | Error)[]> {
    const batch = provider.unwrapKeys?.bind(provider);
    return tiered.getMany(inputs.map(entry), async (indexes) => {
      const missing = indexes.map((i) => inputs[i] as UnwrapKeyInput);
      if (batch !== undefined) return batch(missing);
      return Promise.all(missing.map((input) => provider.unwrapKey(input).catch((e: unknown) => e as Error)));
    });
  }

  function changing<A extends unknown[], R>(method: ((...args: A) => Promise<R>) | undefined) {
    if (method === undefined) return undefined;
    return async (keyId: string, ...rest: unknown[]): Promise<R> => {
      const args = [keyId, ...rest] as unknown as A;
      let result: R;
      try {
        result = await method.apply(provider, args);
      } catch (error) {
        await tiered.invalidate(keyTag(keyId)).catch(() => {});
        throw error;
      }
      await tiered.invalidate(keyTag(keyId));
      return result;
    };
  }

  const overrides: Record<string | symbol, unknown> = {
    unwrapKey,
    ...(provider.unwrapKeys === undefined ? {} : { unwrapKeys }),
    rotateKey: changing(provider.rotateKey),
    deleteKey: changing(provider.deleteKey),
    importKey: changing(provider.importKey),
    createKey: changing(provider.createKey),
    close: own.close,
    stats: own.stats,
  };
  return new Proxy(provider, {
    get(target, property) {
      if (property in overrides) return overrides[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
