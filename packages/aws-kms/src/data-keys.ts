import type { KMSClient } from '@aws-sdk/client-kms';
import {
  type DataKey,
  type GenerateDataKeyInput,
  UnsupportedOperation,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import { AsymmetricKeys } from './asymmetric.js';
import { EnvelopeKeys } from './envelope-keys.js';
import { mapKmsError } from './errors.js';
import { KeyKinds, type KnownKind } from './key-kinds.js';
import type { KeyReference } from './names.js';
import { type AwsKmsPublicKey, PublicKeys } from './public-keys.js';
import type { KeyResolver } from './resolver.js';

/**
 * The data key operations, sent the symmetric way (envelope-keys.ts) or the
 * RSA way (asymmetric.ts) by the kind of the key the reference names now
 * (DescribeKey, cached as the ARN is). An envelope of the other kind's
 * format fails to decode there: InvalidToken.
 */
export class DataKeys {
  readonly #symmetric: EnvelopeKeys;
  readonly #asymmetric: AsymmetricKeys;
  readonly #kinds: KeyKinds;
  readonly #publicKeys: PublicKeys;

  constructor(client: KMSClient, resolver: KeyResolver) {
    this.#symmetric = new EnvelopeKeys(client, resolver);
    this.#kinds = new KeyKinds(resolver);
    this.#publicKeys = new PublicKeys(client);
    this.#asymmetric = new AsymmetricKeys(client, this.#publicKeys, this.#symmetric, resolver);
  }

  async #kind(reference: KeyReference): Promise<KnownKind> {
    try {
      return await this.#kinds.of(reference.ref);
    } catch (error) {
      throw mapKmsError(error, reference.keyId);
    }
  }

  async wrap(reference: KeyReference, input: WrapKeyInput): Promise<WrappedKey> {
    const known = await this.#kind(reference);
    if (known.kind === 'rsa') return this.#asymmetric.wrap(reference, known, input);
    return this.#symmetric.wrap(reference, input);
  }

  async generate(reference: KeyReference, input: GenerateDataKeyInput): Promise<DataKey> {
    const known = await this.#kind(reference);
    if (known.kind === 'rsa') return this.#asymmetric.generate(reference, known, input);
    return this.#symmetric.generate(reference, input);
  }

  async unwrap(reference: KeyReference, input: UnwrapKeyInput): Promise<Uint8Array> {
    const known = await this.#kind(reference);
    if (known.kind === 'rsa') return this.#asymmetric.unwrap(reference, input);
    return this.#symmetric.unwrap(reference, input);
  }

  async rewrap(reference: KeyReference, input: UnwrapKeyInput): Promise<WrappedKey> {
    const known = await this.#kind(reference);
    if (known.kind === 'rsa') return this.#asymmetric.rewrap(reference, known, input);
    return this.#symmetric.rewrap(reference, input);
  }

  /** The public key of an RSA key, for `createAwsKmsPublicKeyProvider`. */
  async publicKey(reference: KeyReference): Promise<AwsKmsPublicKey> {
    const known = await this.#kind(reference);
    if (known.kind !== 'rsa') {
      throw new UnsupportedOperation(
        `aws-kms: key '${reference.keyId}' is not an RSA encryption key: it has no public key to export`,
      );
    }
    try {
      return await this.#publicKeys.exported(known.arn);
    } catch (error) {
      throw mapKmsError(error, reference.keyId);
    }
  }

  clear(): void {
    this.#kinds.clear();
    this.#publicKeys.clear();
  }
}
