import { GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { RsaOaep } from '@keystore/core';
import { ProviderError } from '@keystore/core/provider';
import { commandOptions } from './client.js';

export const RSA_ALGORITHM = 'RSAES_OAEP_SHA_256';

/** A public key as `GetPublicKey` gives it, for a front end that encrypts without KMS. */
export interface AwsKmsPublicKey {
  readonly arn: string;
  /** SPKI, PEM. */
  readonly publicKeyPem: string;
  readonly keySpec: string;
}

interface Entry {
  readonly rsa: RsaOaep;
  readonly exported: AwsKmsPublicKey;
}

/**
 * The public keys of RSA KMS keys, by key ARN: fetched once (GetPublicKey),
 * parsed and checked once (core's RsaOaep, SHA-256), kept for the provider's
 * life. KMS never rotates an asymmetric key's material, so a key ARN has one
 * public key for good. Concurrent first uses share one request; a failed one
 * is forgotten, so the next call asks again.
 */
export class PublicKeys {
  readonly #client: KMSClient;
  readonly #keys = new Map<string, Promise<Entry>>();

  constructor(client: KMSClient) {
    this.#client = client;
  }

  async of(arn: string): Promise<RsaOaep> {
    return (await this.#entry(arn)).rsa;
  }

  async exported(arn: string): Promise<AwsKmsPublicKey> {
    return (await this.#entry(arn)).exported;
  }

  #entry(arn: string): Promise<Entry> {
    let pending = this.#keys.get(arn);
    if (pending === undefined) {
      pending = this.#fetch(arn);
      this.#keys.set(arn, pending);
      pending.catch(() => this.#keys.delete(arn));
    }
    return pending;
  }

  /** Errors: the SDK's (the caller maps them), or ProviderError for an answer that is not an RSA encryption key. */
  async #fetch(arn: string): Promise<Entry> {
    const out = await this.#client.send(new GetPublicKeyCommand({ KeyId: arn }), commandOptions());
    if (
      out.KeyId !== arn ||
      !(out.PublicKey instanceof Uint8Array) ||
      out.KeyUsage !== 'ENCRYPT_DECRYPT' ||
      !out.EncryptionAlgorithms?.includes(RSA_ALGORITHM) ||
      out.KeySpec === undefined
    ) {
      throw new ProviderError('aws-kms: GetPublicKey answered without an RSA encryption key of that ARN');
    }
    let rsa: RsaOaep;
    try {
      rsa = new RsaOaep({ publicKey: out.PublicKey, hash: 'sha256' });
    } catch {
      throw new ProviderError(
        'aws-kms: GetPublicKey answered with a key that is not a usable RSA public key',
      );
    }
    return {
      rsa,
      exported: { arn, publicKeyPem: rsa.exportPublicKey('pem') as string, keySpec: out.KeySpec },
    };
  }

  clear(): void {
    this.#keys.clear();
  }
}
