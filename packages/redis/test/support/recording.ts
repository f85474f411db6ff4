import type { KeyProvider, MaterialStore, StoredKey } from '@keystore/core/provider';

/** Every secret a run handled, as copies taken before the guard zeroed them. */
export class Secrets {
  readonly all: Buffer[] = [];

  add(bytes: Uint8Array | undefined): void {
    if (bytes instanceof Uint8Array && bytes.length >= 16) this.all.push(Buffer.from(bytes));
  }

  addKey(key: StoredKey | undefined): void {
    for (const v of key?.versions ?? []) this.add(v.material);
  }

  /** The store's loads and saves are recorded: every version's material the run used. */
  recordStore(store: MaterialStore): void {
    const load = store.load.bind(store);
    const save = store.save?.bind(store);
    store.load = async (keyId) => {
      const key = await load(keyId);
      this.addKey(key);
      return key;
    };
    if (save !== undefined) {
      store.save = async (key, expected) => {
        this.addKey(key);
        return save(key, expected);
      };
    }
  }

  /** The provider as it is, with every data key and material it hands out or is given recorded. */
  recordProvider(provider: KeyProvider): KeyProvider {
    const record = async <T>(result: Promise<T>, pick: (value: T) => void): Promise<T> => {
      const value = await result;
      pick(value);
      return value;
    };
    const wrap: Record<string, (...args: never[]) => unknown> = {
      wrapKey: (input: Parameters<KeyProvider['wrapKey']>[0]) => {
        this.add(input.plaintext);
        return provider.wrapKey(input);
      },
      unwrapKey: (input: Parameters<KeyProvider['unwrapKey']>[0]) =>
        record(provider.unwrapKey(input), (v) => this.add(v)),
      generateDataKey: (input: Parameters<NonNullable<KeyProvider['generateDataKey']>>[0]) =>
        record((provider.generateDataKey as NonNullable<KeyProvider['generateDataKey']>)(input), (v) =>
          this.add(v.plaintext),
        ),
      getKey: (keyId: string, version?: number) =>
        record((provider.getKey as NonNullable<KeyProvider['getKey']>)(keyId, version), (v) =>
          this.add(v.material),
        ),
      importKey: (keyId: string, material: Uint8Array, options?: { description?: string }) => {
        this.add(material);
        return (provider.importKey as NonNullable<KeyProvider['importKey']>)(keyId, material, options);
      },
    };
    return new Proxy(provider, {
      get(target, property) {
        if (
          typeof property === 'string' &&
          property in wrap &&
          typeof Reflect.get(target, property) === 'function'
        ) {
          return wrap[property];
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}
