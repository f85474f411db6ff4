import {
  Closed,
  checkKeyId,
  type DataKey,
  type GenerateDataKeyInput,
  InvalidArgument,
  type KeyMetadata,
  type KeyProvider,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  type UnwrapKeyInput,
  type Versioning,
  type WrappedKey,
} from '@keystore/core/provider';
import { type AwsKmsCredentials, createKmsClient, createOneShotKmsClient } from './client.js';
import { DataKeys } from './data-keys.js';
import {
  type AwsKmsCreateKeyOptions,
  type AwsKmsKeyDescription,
  KeyLifecycle,
  type ScheduleKeyDeletionOptions,
} from './lifecycle.js';
import { classifyReference, referenceOf } from './names.js';
import type { AwsKmsPublicKey } from './public-keys.js';
import { KeyResolver } from './resolver.js';
import { rotateInPlace } from './rotation.js';

/** Options of `createAwsKmsProvider` (the configuration block, with its secrets resolved). */
export interface AwsKmsProviderOptions {
  readonly region: string;
  /** A KMS endpoint (LocalStack, a VPC endpoint); default `AWS_ENDPOINT_URL_KMS`, else the region's. */
  readonly endpoint?: string;
  /**
   * Our key ids -> KMS key ids, key ARNs, alias names or alias ARNs. Without
   * it, key id `x` is the alias `alias/x`.
   */
  readonly keys?: Readonly<Record<string, string>>;
  /** Static credentials; default: the SDK's provider chain (environment, profile, container, instance role). */
  readonly credentials?: AwsKmsCredentials;
  /** SDK attempts per KMS command, retries included (default 3), always within the call's deadline. */
  readonly maxAttempts?: number;
}

/**
 * A `KeyProvider` over AWS KMS, with the KMS key operations the core
 * contract has no method for. These are called on the provider itself, not
 * through a Keystore.
 */
export interface AwsKmsKeyProvider extends KeyProvider {
  generateDataKey(input: GenerateDataKeyInput): Promise<DataKey>;
  rewrapKey(input: UnwrapKeyInput): Promise<WrappedKey>;
  createKey(keyId: string, options?: AwsKmsCreateKeyOptions): Promise<KeyMetadata>;
  listKeys(): Promise<KeyMetadata[]>;
  /** RotateKeyOnDemand, waiting for KMS to finish it; the key stays at version 1 (`versioning: 'in-place'`). */
  rotateKey(keyId: string): Promise<KeyMetadata>;
  describeKey(keyId: string): Promise<AwsKmsKeyDescription>;
  disableKey(keyId: string): Promise<void>;
  enableKey(keyId: string): Promise<void>;
  /** RotateKeyOnDemand: new material behind the same key; envelopes keep version 1 (see README, Versions). */
  rotateKeyOnDemand(keyId: string): Promise<void>;
  /** ScheduleKeyDeletion with a pending window of 7 to 30 days (default 30); never immediate. */
  scheduleKeyDeletion(
    keyId: string,
    options: ScheduleKeyDeletionOptions,
  ): Promise<{ deletionDate?: string; pendingWindowInDays: number }>;
  cancelKeyDeletion(keyId: string): Promise<void>;
  /** An RSA key's public key (GetPublicKey), for `createAwsKmsPublicKeyProvider`; UnsupportedOperation for others. */
  getPublicKey(keyId: string): Promise<AwsKmsPublicKey>;
}

/**
 * Versions are not KMS's: a key's rotations stay behind one key id and KMS
 * finds an old ciphertext's material itself. So the provider rotates in
 * place (rotateKey is RotateKeyOnDemand, every envelope version 1, see
 * README, Versions), lists no versions, and declares no deleteKey (KMS only
 * schedules deletions).
 */
const VERSIONING: Versioning = 'in-place';

const CAPABILITIES: ProviderCapabilities = Object.freeze({
  generateDataKey: true,
  rewrapKey: true,
  batch: false,
  getKey: false,
  createKey: true,
  importKey: false,
  listKeys: true,
  listVersions: false,
  rotateKey: true,
  deleteKey: false,
});

function checkKeys(keys: Readonly<Record<string, string>> | undefined): void {
  if (keys === undefined) return;
  for (const [keyId, ref] of Object.entries(keys)) {
    checkKeyId(keyId);
    if (typeof ref !== 'string' || classifyReference(ref) === undefined) {
      throw new InvalidArgument(
        `aws-kms: keys.${keyId} must be a KMS key id, key ARN, alias name (alias/...) or alias ARN, not an AWS managed alias`,
      );
    }
  }
}

/** One SDK client, made here and reused by every call; no request is made until the first call. */
export async function createAwsKmsProvider(options: AwsKmsProviderOptions): Promise<AwsKmsKeyProvider> {
  if (typeof options?.region !== 'string' || options.region === '') {
    throw new InvalidArgument('aws-kms: region is required');
  }
  const keys = options.keys === undefined ? undefined : Object.freeze({ ...options.keys });
  checkKeys(keys);
  const client = createKmsClient(options);
  const once = createOneShotKmsClient(options);
  const resolver = new KeyResolver(client);
  const envelopeKeys = new DataKeys(client, resolver);
  const lifecycle = new KeyLifecycle(client, resolver, keys, once);
  let closed = false;
  const open = (keyId: string) => {
    if (closed) throw new Closed('the aws-kms provider is closed');
    checkKeyId(keyId);
    return referenceOf(keyId, keys);
  };
  const managed = (keyId: string) => {
    open(keyId);
    return lifecycle;
  };

  return {
    specificationVersion: SPECIFICATION_VERSION,
    type: 'aws-kms',
    capabilities: CAPABILITIES,
    versioning: VERSIONING,
    wrapKey: async (input) => envelopeKeys.wrap(open(input.keyId), input),
    unwrapKey: async (input) => envelopeKeys.unwrap(open(input.keyId), input),
    generateDataKey: async (input) => envelopeKeys.generate(open(input.keyId), input),
    rewrapKey: async (input) => envelopeKeys.rewrap(open(input.keyId), input),
    createKey: async (keyId, opts) => managed(keyId).createKey(keyId, opts),
    listKeys: async () => {
      if (closed) throw new Closed('the aws-kms provider is closed');
      return lifecycle.listKeys();
    },
    rotateKey: async (keyId) => rotateInPlace(once, managed(keyId), keyId),
    describeKey: async (keyId) => managed(keyId).describeKey(keyId),
    disableKey: async (keyId) => managed(keyId).disableKey(keyId),
    enableKey: async (keyId) => managed(keyId).enableKey(keyId),
    rotateKeyOnDemand: async (keyId) => managed(keyId).rotateKeyOnDemand(keyId),
    scheduleKeyDeletion: async (keyId, opts) => managed(keyId).scheduleKeyDeletion(keyId, opts),
    cancelKeyDeletion: async (keyId) => managed(keyId).cancelKeyDeletion(keyId),
    getPublicKey: async (keyId) => envelopeKeys.publicKey(open(keyId)),
    async close() {
      if (closed) return;
      closed = true;
      resolver.clear();
      envelopeKeys.clear();
      client.destroy();
      once.destroy();
    },
  };
}
