import {
  beginCommit,
  Closed,
  type CreateKeyOptions,
  type DataKey,
  type GenerateDataKeyInput,
  InvalidArgument,
  KeyExists,
  type KeyMetadata,
  KeyNotFound,
  type KeyVersionInfo,
  ProviderError,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import type { VaultConnection } from '../connection.js';
import type { VaultKeyProvider } from '../vault-key-provider.js';
import { createTransitBatch } from './batch.js';
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
  versionsOf,
} from './wire.js';

export interface TransitProviderOptions {
  /** The Transit mount; default `transit`. */
  readonly mount?: string;
}

/** Transit mode: the master keys stay in Vault; data keys are made, unwrapped and rewrapped by Transit. */
export function createTransitProvider(
  connection: VaultConnection,
  options: TransitProviderOptions = {},
): VaultKeyProvider {
  const { client } = connection;
  const mount = transitMount(options.mount);
  const batch = createTransitBatch(client, mount);
  let closed = false;
  /** Keys seen to exist: `encrypt` creates a missing key (upsert), so wrapKey checks first. */
  const known = new Set<string>();

  /**
   * Rotations (and config writes) of one key, one at a time in this process:
   * OpenBao's storage fails concurrent rotations of a key with HTTP 500 (see
   * errors.ts), an answer after which the rotation may or may not have
   * happened. Rotations from several processes at once can still meet it.
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
      batch: true,
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

    async unwrapKeys(inputs: readonly UnwrapKeyInput[]): Promise<(Uint8Array | Error)[]> {
      open();
      return batch.unwrapKeys(inputs);
    },

    async rewrapKeys(inputs: readonly UnwrapKeyInput[]): Promise<(WrappedKey | Error)[]> {
      open();
      return batch.rewrapKeys(inputs);
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
      return versionsOf(await readKey(transitName(keyId)));
    },

    async retireVersionsBelow(keyId: string, version: number): Promise<KeyVersionInfo[]> {
      open();
      const name = transitName(keyId);
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new InvalidArgument('vault: the version must be a positive integer');
      }
      return serialized(name, async () => {
        const { latest_version } = await readKey(name);
        // Vault refuses it too (HTTP 400); said here in our words.
        if (version > latest_version) {
          throw new InvalidArgument(
            `vault: version ${version} is above the key's latest version ${latest_version}`,
          );
        }
        beginCommit('setting min_decryption_version');
        const body = await client.request('POST', `${mount}/keys/${name}/config`, {
          min_decryption_version: version,
        });
        // OpenBao answers with the key as configured; a server answering 204 is read again.
        const configured = keyResponse.safeParse(body);
        return versionsOf(configured.success ? configured.data.data : await readKey(name));
      });
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
      await connection.close();
    },
  };
}
