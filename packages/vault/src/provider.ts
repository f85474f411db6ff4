import {
  beginCommit,
  Closed,
  type CreateKeyOptions,
  canonicalContext,
  type DataKey,
  type EncryptionContext,
  type GenerateDataKeyInput,
  InvalidArgument,
  InvalidToken,
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
import { z } from 'zod';
import { connectVault, type VaultConnectionOptions } from './connection.js';
import { createKvProvider } from './kv/provider.js';

/** Options of `createVaultProvider` (the configuration block, with its secrets resolved). */
export interface VaultProviderOptions extends VaultConnectionOptions {
  /** `transit` (default): keys stay in Vault; `kv`: key material in KV v2 (kv/provider.ts). */
  readonly mode?: 'transit' | 'kv';
  /** The Transit mount (default `transit`), or in KV mode the KV v2 mount (default `secret`). */
  readonly mount?: string;
  /** KV mode only: the folder of the keys under the mount, ending in `/`; default `keystore/`. */
  readonly pathPrefix?: string;
}

export const DEFAULT_TRANSIT_MOUNT = 'transit';

/**
 * Key ids that are Transit key names as they are. Anything else is refused
 * instead of escaped: a key id is never a path (`a/../b` never reaches Vault).
 */
const TRANSIT_KEY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** A mount path: segments of safe characters, no `.` or `..` segment. */
const MOUNT = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
/** Vault's ciphertext: `vault:v<version>:<base64>`. */
const CIPHERTEXT = /^vault:v([1-9][0-9]{0,9}):[A-Za-z0-9+/]+={0,2}$/;

/**
 * The context binding. Transit's `associated_data` is ignored by `rewrap`
 * (measured on OpenBao 2.7.2), so an envelope bound that way could not be
 * rewrapped after a rotation; the `context` of a derived key is honoured by
 * encrypt, decrypt, datakey and rewrap alike. The derivation context is this
 * tag followed by core's canonical context bytes: the tag keeps it non-empty
 * (Vault refuses an empty context for a derived key) and says what it is.
 */
const CONTEXT_TAG = Buffer.from('keystore-context-v1\n', 'utf8');

function derivationContext(context: EncryptionContext): string {
  return Buffer.concat([CONTEXT_TAG, canonicalContext(context)]).toString('base64');
}

function transitName(keyId: string): string {
  if (typeof keyId !== 'string' || !TRANSIT_KEY_NAME.test(keyId)) {
    throw new InvalidArgument(
      'vault: key id must be 1 to 128 characters: letters, digits and . _ - (it names a Transit key)',
    );
  }
  return keyId;
}

const dataSchema = <T extends z.ZodType>(data: T) => z.object({ data });

const ciphertextResponse = dataSchema(z.object({ ciphertext: z.string() }));
const plaintextResponse = dataSchema(z.object({ plaintext: z.string() }));
const dataKeyResponse = dataSchema(z.object({ ciphertext: z.string(), plaintext: z.string() }));
const keyResponse = dataSchema(
  z.object({
    name: z.string(),
    // Version -> creation time: Unix seconds for symmetric keys, RFC 3339 for some others.
    keys: z.record(z.string().regex(/^[1-9][0-9]*$/), z.union([z.number(), z.string()])),
    latest_version: z.number().int().positive(),
    min_decryption_version: z.number().int().nonnegative(),
  }),
);
const listResponse = dataSchema(z.object({ keys: z.array(z.string()) }));

/** A response of the shape we expect, or ProviderError (no part of the body in the message). */
function expect<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProviderError(`vault: unexpected response to ${what}`);
  return parsed.data;
}

function decodeBase64(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ProviderError(`vault: ${what} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** The envelope's wrapped key: the UTF-8 bytes of Vault's ciphertext string. */
function toWrapped(keyId: string, ciphertext: string): WrappedKey {
  const match = CIPHERTEXT.exec(ciphertext);
  if (match === null) throw new ProviderError('vault: the ciphertext Vault returned is not in its format');
  return { keyId, version: Number(match[1]), ciphertext: new Uint8Array(Buffer.from(ciphertext, 'utf8')) };
}

/**
 * Vault's ciphertext string from a wrapped key. One in Vault's format must
 * name the version the envelope names; anything else goes to Vault as it is,
 * which refuses it (InvalidToken), so that an unreachable Vault still says
 * ProviderUnavailable. The key is always the envelope's, never the text's.
 */
function fromWrapped(input: UnwrapKeyInput): string {
  const text = Buffer.from(input.ciphertext).toString('utf8');
  const match = CIPHERTEXT.exec(text);
  if (match !== null && Number(match[1]) !== input.version) throw new InvalidToken();
  return text;
}

function isoTime(value: number | string): string {
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

function dataKeyBits(length: number): number {
  if (length === 16 || length === 32 || length === 64) return length * 8;
  throw new InvalidArgument('vault: Transit makes data keys of 16, 32 or 64 bytes');
}

export async function createVaultProvider(options: VaultProviderOptions): Promise<KeyProvider> {
  if (options.mode === 'kv') {
    const connection = connectVault(options);
    return createKvProvider(connection, {
      ...(options.mount === undefined ? {} : { mount: options.mount }),
      ...(options.pathPrefix === undefined ? {} : { pathPrefix: options.pathPrefix }),
    });
  }
  if ((options.mode ?? 'transit') !== 'transit') {
    throw new InvalidArgument("vault: mode must be 'transit' or 'kv'");
  }
  const mount = options.mount ?? DEFAULT_TRANSIT_MOUNT;
  if (!MOUNT.test(mount))
    throw new InvalidArgument('vault: mount must be a path of letters, digits and . _ -');
  const { client, close: disconnect } = connectVault(options);
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
      await disconnect();
    },
  };
}
