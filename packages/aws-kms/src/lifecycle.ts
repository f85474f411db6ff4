import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  type KMSClient,
  type KeyMetadata as KmsKeyMetadata,
  ListAliasesCommand,
  type ListAliasesCommandOutput,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  beginCommit,
  type CreateKeyOptions,
  InvalidArgument,
  isValidKeyId,
  KeyExists,
  type KeyMetadata,
  ProviderError,
  UnsupportedOperation,
} from '@keystore/core/provider';
import { commandOptions } from './client.js';
import { KMS_KEY_VERSION } from './envelope-keys.js';
import { kmsErrorName, mapKmsError } from './errors.js';
import { aliasNameOf, type KeyReference, referenceOf } from './names.js';
import type { KeyResolver } from './resolver.js';

/** `createKey`'s options: the core's, and KMS tags. */
export interface AwsKmsCreateKeyOptions extends CreateKeyOptions {
  /** Tags of the new KMS key (TagKey -> TagValue). */
  readonly tags?: Readonly<Record<string, string>>;
  /** `SYMMETRIC_DEFAULT` (default), or an RSA key (`RSA_2048`, `RSA_3072`, `RSA_4096`) used with RSAES_OAEP_SHA_256. */
  readonly keySpec?: AwsKmsKeySpec;
}

export type AwsKmsKeySpec = 'SYMMETRIC_DEFAULT' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
const KEY_SPECS: ReadonlySet<string> = new Set(['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096']);

/** What `describeKey` tells of the KMS key behind one of our key ids. */
export interface AwsKmsKeyDescription {
  readonly keyId: string;
  /** The key ARN the id names now. */
  readonly arn: string;
  /** KMS's KeyState: `Enabled`, `Disabled`, `PendingDeletion`, ... */
  readonly state: string;
  readonly enabled: boolean;
  readonly keyUsage?: string;
  readonly keySpec?: string;
  readonly keyManager?: string;
  /** ISO 8601. */
  readonly createdAt?: string;
  readonly description?: string;
  /** ISO 8601, for a key pending deletion. */
  readonly deletionDate?: string;
}

export interface ScheduleKeyDeletionOptions {
  /** The key id again: scheduling a deletion is never a side effect. */
  readonly confirm: string;
  /** 7 to 30 days (KMS's bounds); default 30. Deletion is never immediate. */
  readonly pendingWindowInDays?: number;
}

export const DEFAULT_PENDING_WINDOW_DAYS = 30;

const iso = (date: Date | undefined) => (date instanceof Date ? date.toISOString() : undefined);

function metadataOf(keyId: string, key: KmsKeyMetadata | undefined): KeyMetadata {
  const createdAt = iso(key?.CreationDate);
  const description = key?.Description;
  return {
    keyId,
    latestVersion: KMS_KEY_VERSION,
    ...(createdAt === undefined ? {} : { createdAt }),
    ...(description === undefined || description === '' ? {} : { description }),
  };
}

/** Key management through KMS: creation under an alias, listing, and the state changes KMS offers. */
export class KeyLifecycle {
  readonly #client: KMSClient;
  readonly #resolver: KeyResolver;
  readonly #keys: Readonly<Record<string, string>> | undefined;
  /** Sends without SDK retries (client.ts, createOneShotKmsClient): RotateKeyOnDemand. */
  readonly #once: KMSClient;

  constructor(
    client: KMSClient,
    resolver: KeyResolver,
    keys: Readonly<Record<string, string>> | undefined,
    once: KMSClient = client,
  ) {
    this.#client = client;
    this.#resolver = resolver;
    this.#keys = keys;
    this.#once = once;
  }

  /** DescribeKey of `reference`, errors typed. */
  async #describe(reference: KeyReference): Promise<KmsKeyMetadata & { Arn: string }> {
    try {
      return await this.#resolver.describe(reference.ref);
    } catch (error) {
      throw mapKmsError(error, reference.keyId);
    }
  }

  async #aliasExists(reference: KeyReference): Promise<boolean> {
    try {
      await this.#resolver.describe(reference.ref);
      return true;
    } catch (error) {
      if (kmsErrorName(error) === 'NotFoundException') return false;
      throw mapKmsError(error, reference.keyId);
    }
  }

  /**
   * CreateKey (symmetric, ENCRYPT_DECRYPT) and CreateAlias. Only for ids that
   * name an alias: a key ARN or key id cannot be given to a new key. An alias
   * taken already is KeyExists before anything is made; one taken between the
   * check and CreateAlias leaves a key without alias, scheduled for deletion.
   */
  async createKey(keyId: string, options: AwsKmsCreateKeyOptions = {}): Promise<KeyMetadata> {
    const reference = referenceOf(keyId, this.#keys);
    const alias = aliasNameOf(reference);
    if (alias === undefined) {
      throw new UnsupportedOperation(
        `aws-kms: key '${keyId}' names a KMS key by ARN or key id; createKey makes keys for aliases only`,
      );
    }
    const keySpec = options.keySpec ?? 'SYMMETRIC_DEFAULT';
    if (!KEY_SPECS.has(keySpec)) {
      throw new InvalidArgument('aws-kms: keySpec must be SYMMETRIC_DEFAULT, RSA_2048, RSA_3072 or RSA_4096');
    }
    const tags = Object.entries(options.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    if (await this.#aliasExists(reference)) {
      throw new KeyExists(`aws-kms: the alias of '${keyId}' exists already`);
    }
    beginCommit('CreateKey');
    let created: KmsKeyMetadata | undefined;
    try {
      created = (
        await this.#client.send(
          new CreateKeyCommand({
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeySpec: keySpec,
            ...(options.description === undefined ? {} : { Description: options.description }),
            ...(tags.length === 0 ? {} : { Tags: tags }),
          }),
          commandOptions(),
        )
      ).KeyMetadata;
    } catch (error) {
      throw mapKmsError(error, keyId);
    }
    if (created?.KeyId === undefined) throw new ProviderError('aws-kms: CreateKey answered without a key id');
    try {
      await this.#client.send(
        new CreateAliasCommand({ AliasName: alias, TargetKeyId: created.KeyId }),
        commandOptions(),
      );
    } catch (error) {
      await this.#abandon(created.KeyId);
      throw mapKmsError(error, keyId);
    }
    if (created.Arn !== undefined) this.#resolver.note(reference.ref, created.Arn);
    return metadataOf(keyId, created);
  }

  /** A key made for an alias it did not get: scheduled for deletion (best effort, its own time). */
  async #abandon(kmsKeyId: string): Promise<void> {
    try {
      await this.#client.send(
        new ScheduleKeyDeletionCommand({ KeyId: kmsKeyId, PendingWindowInDays: 7 }),
        commandOptions(5_000),
      );
    } catch {
      // Left as an enabled key without alias: harmless, and visible in the account.
    }
  }

  /**
   * With a keys map: its ids whose key exists (DescribeKey each). Without:
   * every customer alias of the account and region that is a valid key id
   * (ListAliases; no request per key, so no creation date or description).
   */
  async listKeys(): Promise<KeyMetadata[]> {
    if (this.#keys !== undefined) {
      const out: KeyMetadata[] = [];
      for (const keyId of Object.keys(this.#keys)) {
        try {
          out.push(metadataOf(keyId, await this.#resolver.describe(referenceOf(keyId, this.#keys).ref)));
        } catch (error) {
          if (kmsErrorName(error) !== 'NotFoundException') throw mapKmsError(error, keyId);
        }
      }
      return out;
    }
    const out: KeyMetadata[] = [];
    let marker: string | undefined;
    do {
      let page: ListAliasesCommandOutput;
      try {
        page = await this.#client.send(
          new ListAliasesCommand({ Limit: 100, ...(marker === undefined ? {} : { Marker: marker }) }),
          commandOptions(),
        );
      } catch (error) {
        throw mapKmsError(error);
      }
      for (const alias of page.Aliases ?? []) {
        const name = alias.AliasName;
        if (name === undefined || alias.TargetKeyId === undefined || name.startsWith('alias/aws/')) continue;
        const keyId = name.slice('alias/'.length);
        if (isValidKeyId(keyId)) out.push({ keyId, latestVersion: KMS_KEY_VERSION });
      }
      marker = page.Truncated === true ? page.NextMarker : undefined;
    } while (marker !== undefined);
    return out;
  }

  async describeKey(keyId: string): Promise<AwsKmsKeyDescription> {
    const key = await this.#describe(referenceOf(keyId, this.#keys));
    const createdAt = iso(key.CreationDate);
    const deletionDate = iso(key.DeletionDate);
    return {
      keyId,
      arn: key.Arn,
      state: key.KeyState ?? 'Unknown',
      enabled: key.Enabled === true,
      ...(key.KeyUsage === undefined ? {} : { keyUsage: key.KeyUsage }),
      ...(key.KeySpec === undefined ? {} : { keySpec: key.KeySpec }),
      ...(key.KeyManager === undefined ? {} : { keyManager: key.KeyManager }),
      ...(createdAt === undefined ? {} : { createdAt }),
      ...(key.Description === undefined || key.Description === '' ? {} : { description: key.Description }),
      ...(deletionDate === undefined ? {} : { deletionDate }),
    };
  }

  /** The key ARN for a management call: those take key ids or ARNs, not aliases. */
  async #arnOf(keyId: string): Promise<string> {
    return (await this.#describe(referenceOf(keyId, this.#keys))).Arn;
  }

  async #change(keyId: string, what: string, send: (arn: string) => Promise<unknown>): Promise<void> {
    const arn = await this.#arnOf(keyId);
    beginCommit(what);
    try {
      await send(arn);
    } catch (error) {
      throw mapKmsError(error, keyId);
    }
  }

  disableKey(keyId: string): Promise<void> {
    return this.#change(keyId, 'DisableKey', (KeyId) =>
      this.#client.send(new DisableKeyCommand({ KeyId }), commandOptions()),
    );
  }

  enableKey(keyId: string): Promise<void> {
    return this.#change(keyId, 'EnableKey', (KeyId) =>
      this.#client.send(new EnableKeyCommand({ KeyId }), commandOptions()),
    );
  }

  /** New key material behind the same key (KMS keeps the old for decryption); envelopes stay version 1. */
  rotateKeyOnDemand(keyId: string): Promise<void> {
    return this.#change(keyId, 'RotateKeyOnDemand', (KeyId) =>
      this.#once.send(new RotateKeyOnDemandCommand({ KeyId }), commandOptions()),
    );
  }

  async scheduleKeyDeletion(
    keyId: string,
    options: ScheduleKeyDeletionOptions,
  ): Promise<{ deletionDate?: string; pendingWindowInDays: number }> {
    if (options?.confirm !== keyId) {
      throw new InvalidArgument('scheduleKeyDeletion: options.confirm must repeat the key id');
    }
    const days = options.pendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS;
    if (!Number.isSafeInteger(days) || days < 7 || days > 30) {
      throw new InvalidArgument('scheduleKeyDeletion: pendingWindowInDays must be an integer from 7 to 30');
    }
    let deletionDate: string | undefined;
    await this.#change(keyId, 'ScheduleKeyDeletion', async (KeyId) => {
      const out = await this.#client.send(
        new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days }),
        commandOptions(),
      );
      deletionDate = iso(out.DeletionDate);
    });
    return { ...(deletionDate === undefined ? {} : { deletionDate }), pendingWindowInDays: days };
  }

  /** Cancels a scheduled deletion; KMS leaves the key disabled (enableKey it to use it). */
  cancelKeyDeletion(keyId: string): Promise<void> {
    return this.#change(keyId, 'CancelKeyDeletion', (KeyId) =>
      this.#client.send(new CancelKeyDeletionCommand({ KeyId }), commandOptions()),
    );
  }
}
