import { RsaOaep } from '@keystore/core';
import {
  Closed,
  checkKeyId,
  InvalidArgument,
  KeyNotFound,
  type KeyProvider,
  type ProviderCapabilities,
  SPECIFICATION_VERSION,
  UnsupportedOperation,
  type WrappedKey,
} from '@keystore/core/provider';
import { KMS_KEY_VERSION } from './envelope-keys.js';
import { isKeyArn } from './names.js';
import { sealToPublicKey } from './rsa-seal.js';

/** One RSA KMS key as a front end knows it: its ARN and public key (e.g. `provider.getPublicKey(id)`). */
export interface AwsKmsPublicKeyEntry {
  /** The key ARN (not an alias: the envelope records the key it was wrapped to). */
  readonly arn: string;
  /** SPKI PEM (or PKCS#1), as GetPublicKey's DER converted, or `getPublicKey().publicKeyPem`. */
  readonly publicKeyPem: string;
}

export interface AwsKmsPublicKeyProviderOptions {
  /** Our key ids -> the RSA KMS key each wraps to. */
  readonly keys: Readonly<Record<string, AwsKmsPublicKeyEntry>>;
}

/** Wraps only: no key management, no unwrap (no KMS, no credentials). */
const CAPABILITIES: ProviderCapabilities = Object.freeze({
  generateDataKey: false,
  rewrapKey: false,
  batch: false,
  getKey: false,
  createKey: false,
  importKey: false,
  listKeys: false,
  listVersions: false,
  rotateKey: false,
  deleteKey: false,
});

/**
 * An encrypt-only `aws-kms` provider for a process that has the public keys
 * of RSA KMS keys but no KMS access (a front end, an ingest job): it wraps
 * exactly as the full provider does for an RSA key (asymmetric-wire.ts),
 * without any request, and its envelopes are opened by
 * `createAwsKmsProvider` with the same key id naming that key. Unwrapping is
 * `UnsupportedOperation`: only KMS holds the private keys. The key ARN and
 * public key are believed as given; a public key that is not the ARN's makes
 * envelopes that no one can open, so take both from `getPublicKey`.
 */
export async function createAwsKmsPublicKeyProvider(
  options: AwsKmsPublicKeyProviderOptions,
): Promise<KeyProvider> {
  const entries = options?.keys;
  if (typeof entries !== 'object' || entries === null || Object.keys(entries).length === 0) {
    throw new InvalidArgument('aws-kms public-key provider: keys must name at least one key');
  }
  const keys = new Map<string, { arn: string; rsa: RsaOaep }>();
  for (const [keyId, entry] of Object.entries(entries)) {
    checkKeyId(keyId);
    if (typeof entry?.arn !== 'string' || !isKeyArn(entry.arn)) {
      throw new InvalidArgument(`aws-kms public-key provider: keys.${keyId}.arn must be a KMS key ARN`);
    }
    if (typeof entry.publicKeyPem !== 'string') {
      throw new InvalidArgument(
        `aws-kms public-key provider: keys.${keyId}.publicKeyPem must be a PEM string`,
      );
    }
    // RsaOaep refuses a private key, a non-RSA key and a modulus outside 2048-4096 bits (InvalidKey).
    keys.set(keyId, { arn: entry.arn, rsa: new RsaOaep({ publicKey: entry.publicKeyPem, hash: 'sha256' }) });
  }
  let closed = false;
  const keyOf = (keyId: string) => {
    if (closed) throw new Closed('the aws-kms public-key provider is closed');
    checkKeyId(keyId);
    const key = keys.get(keyId);
    if (key === undefined) throw new KeyNotFound(`aws-kms: key '${keyId}' is not in the provider's keys`);
    return key;
  };
  return {
    specificationVersion: SPECIFICATION_VERSION,
    type: 'aws-kms',
    capabilities: CAPABILITIES,
    async wrapKey(input): Promise<WrappedKey> {
      const { arn, rsa } = keyOf(input.keyId);
      return {
        keyId: input.keyId,
        version: KMS_KEY_VERSION,
        ciphertext: sealToPublicKey(rsa, arn, arn, input.plaintext, input.context),
      };
    },
    async unwrapKey(input): Promise<Uint8Array> {
      keyOf(input.keyId);
      throw new UnsupportedOperation(
        'aws-kms public-key provider: it can only encrypt; decrypt with createAwsKmsProvider, which asks KMS',
      );
    },
    async close() {
      closed = true;
    },
  };
}
