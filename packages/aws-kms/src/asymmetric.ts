import { randomFillSync, timingSafeEqual } from 'node:crypto';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  type DataKey,
  type GenerateDataKeyInput,
  InvalidToken,
  KeyNotFound,
  ProviderUnavailable,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import { decodeAsymmetric } from './asymmetric-wire.js';
import { commandOptions } from './client.js';
import { type EnvelopeKeys, KMS_KEY_VERSION } from './envelope-keys.js';
import { KmsKeyUnusable, kmsErrorName } from './errors.js';
import type { KnownKind } from './key-kinds.js';
import type { KeyReference } from './names.js';
import { type PublicKeys, RSA_ALGORITHM } from './public-keys.js';
import type { KeyResolver } from './resolver.js';
import { openWithKek, sealToPublicKey } from './rsa-seal.js';
import { keyStateOf } from './state.js';

/**
 * LocalStack 4.9.2 answers a Decrypt it cannot do with an RSA key (a
 * ciphertext altered, cut short, of another key or another OAEP hash) with
 * `InternalError`, HTTP 500, where AWS KMS answers InvalidCiphertextException.
 * But a failing LocalStack, or a proxy before KMS, answers the same: the
 * answer alone does not say the envelope was altered. So it is InvalidToken
 * only when a probe (a fresh KEK encrypted to the key here) decrypts under
 * the same key right after; otherwise ProviderUnavailable.
 */
function isLocalStackRefusal(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return kmsErrorName(error) === 'InternalError' && status === 500;
}

/**
 * The data key operations for RSA KMS keys (RSAES_OAEP_SHA_256): wraps are
 * local, to the key's public key (rsa-seal.ts, format in asymmetric-wire.ts);
 * unwraps are KMS Decrypt of the KEK, pinned to the configured key, then the
 * AEAD open that checks the context. The key checks and error mapping are the
 * symmetric path's (envelope-keys.ts).
 */
export class AsymmetricKeys {
  readonly #client: KMSClient;
  readonly #publicKeys: PublicKeys;
  readonly #checks: EnvelopeKeys;
  readonly #resolver: KeyResolver;

  constructor(client: KMSClient, publicKeys: PublicKeys, checks: EnvelopeKeys, resolver: KeyResolver) {
    this.#client = client;
    this.#publicKeys = publicKeys;
    this.#checks = checks;
    this.#resolver = resolver;
  }

  /**
   * No KMS call but GetPublicKey, once per key. The key's state is the one
   * DescribeKey gave when the reference was last resolved (RESOLVE_TTL_MS):
   * a key disabled since is still wrapped to until then, as a front end with
   * the public key would.
   */
  async wrap(reference: KeyReference, known: KnownKind, input: WrapKeyInput): Promise<WrappedKey> {
    if (known.state !== undefined && known.state !== 'Enabled') {
      throw new KmsKeyUnusable(
        reference.keyId,
        (await keyStateOf(this.#resolver, reference.ref)) ?? 'invalid-state',
      );
    }
    let rsa: Awaited<ReturnType<PublicKeys['of']>>;
    try {
      rsa = await this.#publicKeys.of(known.arn);
    } catch (error) {
      return this.#checks.failed(error, reference);
    }
    return {
      keyId: reference.keyId,
      version: KMS_KEY_VERSION,
      ciphertext: sealToPublicKey(rsa, reference.ref, known.arn, input.plaintext, input.context),
    };
  }

  /** KMS GenerateDataKey takes no RSA key: the data key is made here (node:crypto's CSPRNG). */
  async generate(reference: KeyReference, known: KnownKind, input: GenerateDataKeyInput): Promise<DataKey> {
    const plaintext = randomFillSync(new Uint8Array(input.length));
    try {
      return { plaintext, wrapped: await this.wrap(reference, known, { ...input, plaintext }) };
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
  }

  async unwrap(reference: KeyReference, input: UnwrapKeyInput): Promise<Uint8Array> {
    if (input.version !== KMS_KEY_VERSION) {
      throw new KeyNotFound(
        `aws-kms: key '${reference.keyId}' has no version ${input.version} (KMS keys have one version here, 1)`,
      );
    }
    const wire = decodeAsymmetric(input.ciphertext, input.context);
    await this.#checks.checkEnvelopeKey(reference, wire);
    let out: { KeyId?: string; Plaintext?: Uint8Array };
    try {
      out = await this.#client.send(
        new DecryptCommand({
          KeyId: reference.ref,
          CiphertextBlob: wire.rsa,
          EncryptionAlgorithm: RSA_ALGORITHM,
        }),
        commandOptions(),
      );
    } catch (error) {
      if (isLocalStackRefusal(error)) {
        if (await this.#decryptsNow(reference, wire.arn)) throw new InvalidToken();
        throw new ProviderUnavailable(
          'aws-kms: KMS answered InternalError (HTTP 500) to an RSA Decrypt, and to a probe ciphertext of its own',
        );
      }
      return this.#checks.failed(error, reference, wire);
    }
    if (out.KeyId !== wire.arn || !(out.Plaintext instanceof Uint8Array)) {
      out.Plaintext?.fill(0);
      throw new InvalidToken();
    }
    return openWithKek(out.Plaintext, wire);
  }

  /** Whether KMS decrypts, under `reference` now, a KEK-sized probe encrypted here to `arn`'s public key. */
  async #decryptsNow(reference: KeyReference, arn: string): Promise<boolean> {
    const probe = randomFillSync(new Uint8Array(32));
    let plaintext: Uint8Array | undefined;
    try {
      const rsa = await this.#publicKeys.of(arn);
      const out = await this.#client.send(
        new DecryptCommand({
          KeyId: reference.ref,
          CiphertextBlob: rsa.encrypt(probe),
          EncryptionAlgorithm: RSA_ALGORITHM,
        }),
        commandOptions(),
      );
      plaintext = out.Plaintext;
      return (
        out.KeyId === arn &&
        plaintext instanceof Uint8Array &&
        plaintext.length === probe.length &&
        timingSafeEqual(plaintext, probe)
      );
    } catch {
      return false;
    } finally {
      probe.fill(0);
      plaintext?.fill(0);
    }
  }

  /**
   * No KMS ReEncrypt can carry our local AEAD, and KMS never rotates an RSA
   * key's material: the rewrap is unwrap (KMS Decrypt) and a fresh local wrap
   * to the key the reference names now, the data key in this process for
   * that moment and zeroed after (README, "Asymmetric keys", rewrap).
   */
  async rewrap(reference: KeyReference, known: KnownKind, input: UnwrapKeyInput): Promise<WrappedKey> {
    const plaintext = await this.unwrap(reference, input);
    try {
      return await this.wrap(reference, known, { keyId: input.keyId, plaintext, context: input.context });
    } finally {
      plaintext.fill(0);
    }
  }
}
