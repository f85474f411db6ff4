import type { KeyProvider } from '@keystore/core/provider';

/**
 * The provider as it is, except that `close` also runs `alsoClose` (after
 * the provider's own, even when that fails). A Proxy rather than a copy: a
 * spread would lose a class provider's methods and private fields, and the
 * non-enumerable hook `materialStoreOf` reads.
 */
export function closingAlso(provider: KeyProvider, alsoClose: () => Promise<void>): KeyProvider {
  const close = async () => {
    try {
      await provider.close();
    } finally {
      await alsoClose();
    }
  };
  return new Proxy(provider, {
    get(target, property) {
      if (property === 'close') return close;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
