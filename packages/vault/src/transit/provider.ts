import {
  beginCommit,
  Closed,
  type CreateKeyOptions,
  type DataKey,
  type GenerateDataKeyInput,
  KeyExists,
  type KeyMetadata,
  KeyNotFound,
  type KeyProvider,
  type KeyVersionInfo,
  ProviderError,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import type { VaultClient } from '../client.js';
import { TRANSIT_KEY_NAME, transitMount, transitName } from './names.js';
import {
  ciphertextResponse,
  dataKeyBits,
  dataKeyResponse,
  decodeBase64,
  derivationContext,
  expect,
  fromWrapped,
  isoTime,
  keyResponse,
  listResponse,
  plaintextResponse,
  toWrapped,
} from './wire.js';

export interface TransitProviderOptions {
  /** The Transit mount; default `transit`. */
  readonly mount?: string;
}

/** Transit mode: the master keys stay in Vault; data keys are made, unwrapped and rewrapped by Transit. */
export function createTransitProvider(
  client: VaultClient,
  options: TransitProviderOptions = {},
): KeyProvider {
  const mount = transitMount(options.mount);
  let closed = false;
  /** Keys seen to exist: `encrypt` creates a missing key (upsert), so wrapKey checks first. */
  const known = new Set<string>();

  /**
   * Rotations of one key, one at a time in this process: OpenBao's storage
   * fails concurrent rotations of a key with HTTP 500 (see errors.ts), an
   * answer after which the rotation may or may not have happened. Rotations
   * from several processes at once can still meet it.
   */
  const rotations = new Map<string, Promise<unknown>>();
  function serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = rotations.get(name) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    rotations.set(name, tail);
    void tail.then(() => {
      if (rotations.get(name) === tail) rotations.delete(name);
    });
    return next;
  }

  const open = () => {
    if (closed) throw new Closed('vault: the provider was closed');
  };

  async function readKey(name: string) {
    const body = await client.request('GET', `${mount}/keys/${name}`);
    known.add(name);
    return expect(keyResponse, body, 'reading a key').data;
  }

  async function metadata(name: string): Promise<KeyMetadata> {
    const key = await readKey(name);
    const first = key.keys['1'];
    return {
      keyId: name,
      latestVersion: key.latest_version,
      ...(first === undefined ? {} : { createdAt: isoTime(first) }),
    };
  }

  return {
    specificationVersion: SPECIFICATION_VERSION,
    type: 'vault',
    capabilities: {
      generateDataKey: true,
      rewrapKey: true,
      batch: false,
      getKey: false,
      createKey: true,
      importKey: false,
      listKeys: true,
      listVersions: true,
      rotateKey: true,
      deleteKey: false,
    },

    async generateDataKey(input: GenerateDataKeyInput): Promise<DataKey> {
      open();
      const name = transitName(input.keyId);
      const body = await client.request('POST', `${mount}/datakey/plaintext/${name}`, {
        bits: dataKeyBits(input.length),
        context: derivationContext(input.context),
      });
      const { data } = expect(dataKeyResponse, body, 'datakey');
      const plaintext = decodeBase64(data.plaintext, 'the data key');
      if (plaintext.length !== input.length) {
        plaintext.fill(0);
        throw new ProviderError('vault: the data key has the wrong length');
      }
      return { plaintext, wrapped: toWrapped(name, data.ciphertext) };
    },

    async wrapKey(input: WrapKeyInput): Promise<WrappedKey> {
      open();
      const name = transitName(input.keyId);
      // Without this check, encrypt would create a missing key (Transit's upsert).
      if (!known.has(name)) await readKey(name);
      const body = await client.request('POST', `${mount}/encrypt/${name}`, {
        plaintext: Buffer.from(input.plaintext).toString('base64'),
        context: derivationContext(input.context),
      });
      return toWrapped(name, expect(ciphertextResponse, body, 'encrypt').data.ciphertext);
    },

    async unwrapKey(input: UnwrapKeyInput): Promise<Uint8Array> {
      open();
      // The key is the envelope's key id, never anything the ciphertext names.
      const name = transitName(input.keyId);
      const ciphertext = fromWrapped(input);
      const body = await client.request('POST', `${mount}/decrypt/${name}`, {
        ciphertext,
        context: derivationContext(input.context),
      });
      return decodeBase64(expect(plaintextResponse, body, 'decrypt').data.plaintext, 'the plaintext');
    },

    async rewrapKey(input: UnwrapKeyInput): Promise<WrappedKey> {
      open();
      const name = transitName(input.keyId);
      const ciphertext = fromWrapped(input);
      const body = await client.request('POST', `${mount}/rewrap/${name}`, {
        ciphertext,
        context: derivationContext(input.context),
      });
      return toWrapped(name, expect(ciphertextResponse, body, 'rewrap').data.ciphertext);
    },

    async createKey(keyId: string, _options?: CreateKeyOptions): Promise<KeyMetadata> {
      open();
      const name = transitName(keyId);
      // POST keys/<name> on an existing key answers 200 and changes nothing, so look first.
      // Two processes creating the same key at once both succeed: the key exists once.
      try {
        await readKey(name);
        throw new KeyExists(`vault: key '${name}' exists`);
      } catch (error) {
        if (!(error instanceof KeyNotFound)) throw error;
      }
      beginCommit('creating the Transit key');
      await client.request('POST', `${mount}/keys/${name}`, { type: 'aes256-gcm96', derived: true });
      return metadata(name);
    },

    async rotateKey(keyId: string): Promise<KeyMetadata> {
      open();
      const name = transitName(keyId);
      return serialized(name, async () => {
        beginCommit('rotating the Transit key');
        const body = await client.request('POST', `${mount}/keys/${name}/rotate`);
        // Vault and OpenBao answer with the key as this rotation left it (read under the
        // key's lock); a later read could see a concurrent rotation's version instead.
        const rotated = keyResponse.safeParse(body);
        if (!rotated.success) return metadata(name);
        const first = rotated.data.data.keys['1'];
        return {
          keyId: name,
          latestVersion: rotated.data.data.latest_version,
          ...(first === undefined ? {} : { createdAt: isoTime(first) }),
        };
      });
    },

    async listVersions(keyId: string): Promise<KeyVersionInfo[]> {
      open();
      const key = await readKey(transitName(keyId));
      return Object.entries(key.keys)
        .map(([version, created]) => ({ version: Number(version), created }))
        .sort((a, b) => a.version - b.version)
        .map(({ version, created }) => ({
          version,
          createdAt: isoTime(created),
          state: version < key.min_decryption_version ? ('disabled' as const) : ('enabled' as const),
        }));
    },

    async listKeys(): Promise<KeyMetadata[]> {
      open();
      let names: string[];
      try {
        names = expect(listResponse, await client.request('LIST', `${mount}/keys`), 'listing keys').data.keys;
      } catch (error) {
        // Vault answers an empty list with 404.
        if (error instanceof KeyNotFound) return [];
        throw error;
      }
      const result: KeyMetadata[] = [];
      for (const name of names.filter((n) => TRANSIT_KEY_NAME.test(n)).sort()) {
        try {
          result.push(await metadata(name));
        } catch (error) {
          if (!(error instanceof KeyNotFound)) throw error; // deleted since the list
        }
      }
      return result;
    },

    async close(): Promise<void> {
      closed = true;
      known.clear();
    },
  };
}
