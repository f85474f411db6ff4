import { randomFillSync } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import {
  type DataKey,
  type EncryptionContext,
  type GenerateDataKeyInput,
  InvalidArgument,
  InvalidToken,
  KeyNotFound,
  ProviderError,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
} from '@keystore/core/provider';
import { commandOptions } from './client.js';
import { KmsAliasRepointed, kmsErrorName, mapKmsError } from './errors.js';
import { isKeyArn, type KeyReference, sameKeyOwner } from './names.js';
import type { KeyResolver } from './resolver.js';
import { keyStateOf } from './state.js';
import { decodeWrapped, encodeWrapped, type WireKey } from './wire.js';

/**
 * KMS does not expose the versions of a key's material: a rotation (yearly,
 * or RotateKeyOnDemand) keeps every older material behind the same key id,
 * and Decrypt finds the right one by itself. So every envelope is version 1,
 * and ReEncrypt moves it to the newest material without changing that.
 */
export const KMS_KEY_VERSION = 1;

/**
 * The reserved encryption context entry holding the key reference the wrap
 * was made through: KMS binds it like the caller's entries, so the reference
 * recorded in the wrapped key cannot be altered without Decrypt refusing it.
 */
export const REFERENCE_ENTRY = 'keystore:aws-kms-ref';

/** The EncryptionContext KMS gets: the envelope's context (canonical order) and the reference entry. */
export function kmsContext(context: EncryptionContext, ref: string): Record<string, string> {
  if (Object.hasOwn(context, REFERENCE_ENTRY)) {
    throw new InvalidArgument(`context key '${REFERENCE_ENTRY}' is reserved by the aws-kms provider`);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(context)) {
    Object.defineProperty(out, key, { value: context[key], enumerable: true, writable: true });
  }
  out[REFERENCE_ENTRY] = ref;
  return out;
}

/** The data key operations, each a KMS call made through the key's reference. */
export class EnvelopeKeys {
  readonly #client: KMSClient;
  readonly #resolver: KeyResolver;

  constructor(client: KMSClient, resolver: KeyResolver) {
    this.#client = client;
    this.#resolver = resolver;
  }

  /** Maps a failed call; a disabled or pending-deletion key is named with its state. */
  async #fail(error: unknown, reference: KeyReference): Promise<never> {
    const name = kmsErrorName(error);
    if (name === 'DisabledException' || name === 'KMSInvalidStateException') {
      throw mapKmsError(error, reference.keyId, await keyStateOf(this.#resolver, reference.ref));
    }
    throw mapKmsError(error, reference.keyId);
  }

  #wrapped(reference: KeyReference, arn: string | undefined, blob: Uint8Array | undefined): WrappedKey {
    if (arn === undefined || !isKeyArn(arn) || !(blob instanceof Uint8Array) || blob.length === 0) {
      throw new ProviderError('aws-kms: KMS answered without a key ARN or a ciphertext');
    }
    this.#resolver.note(reference.ref, arn);
    return {
      keyId: reference.keyId,
      version: KMS_KEY_VERSION,
      ciphertext: encodeWrapped({ ref: reference.ref, arn, blob }),
    };
  }

  async wrap(reference: KeyReference, input: WrapKeyInput): Promise<WrappedKey> {
    let out: { KeyId?: string; CiphertextBlob?: Uint8Array };
    try {
      out = await this.#client.send(
        new EncryptCommand({
          KeyId: reference.ref,
          Plaintext: input.plaintext,
          EncryptionContext: kmsContext(input.context, reference.ref),
        }),
        commandOptions(),
      );
    } catch (error) {
      return this.#fail(error, reference);
    }
    return this.#wrapped(reference, out.KeyId, out.CiphertextBlob);
  }

  async generate(reference: KeyReference, input: GenerateDataKeyInput): Promise<DataKey> {
    let out: { KeyId?: string; CiphertextBlob?: Uint8Array; Plaintext?: Uint8Array };
    try {
      out = await this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: reference.ref,
          NumberOfBytes: input.length,
          EncryptionContext: kmsContext(input.context, reference.ref),
        }),
        commandOptions(),
      );
    } catch (error) {
      return this.#fail(error, reference);
    }
    const plaintext = out.Plaintext;
    if (!(plaintext instanceof Uint8Array) || plaintext.length !== input.length) {
      // LocalStack 4.9.2 answers 32 bytes whatever NumberOfBytes asks: make the key here and Encrypt it.
      plaintext?.fill(0);
      const own = randomFillSync(new Uint8Array(input.length));
      try {
        return { plaintext: own, wrapped: await this.wrap(reference, { ...input, plaintext: own }) };
      } catch (error) {
        own.fill(0);
        throw error;
      }
    }
    try {
      return { plaintext, wrapped: this.#wrapped(reference, out.KeyId, out.CiphertextBlob) };
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
  }

  /**
   * Decrypt, with KeyId pinned to the configured reference (KMS refuses a
   * ciphertext of any other key), and the key KMS used checked against the
   * one the envelope records.
   */
  async unwrap(reference: KeyReference, input: UnwrapKeyInput): Promise<Uint8Array> {
    const wire = await this.#check(reference, input);
    let out: { KeyId?: string; Plaintext?: Uint8Array };
    try {
      out = await this.#client.send(
        new DecryptCommand({
          KeyId: reference.ref,
          CiphertextBlob: wire.blob,
          EncryptionContext: kmsContext(input.context, wire.ref),
        }),
        commandOptions(),
      );
    } catch (error) {
      if (kmsErrorName(error) === 'IncorrectKeyException') await this.#incorrectKey(reference, wire);
      return this.#fail(error, reference);
    }
    if (out.KeyId !== wire.arn || !(out.Plaintext instanceof Uint8Array)) {
      // The ciphertext is of the configured key, but the envelope says another: it was altered.
      out.Plaintext?.fill(0);
      throw new InvalidToken();
    }
    return out.Plaintext;
  }

  /**
   * ReEncrypt to the newest material of the configured key, the data key
   * never leaving KMS. SourceKeyId is always given: it pins the source key
   * (as Decrypt's KeyId does), and LocalStack 4.9.2 answers InternalError
   * (HTTP 500) to a ReEncrypt without it.
   */
  async rewrap(reference: KeyReference, input: UnwrapKeyInput): Promise<WrappedKey> {
    const wire = await this.#check(reference, input);
    let out: { KeyId?: string; SourceKeyId?: string; CiphertextBlob?: Uint8Array };
    try {
      out = await this.#client.send(
        new ReEncryptCommand({
          CiphertextBlob: wire.blob,
          SourceKeyId: reference.ref,
          SourceEncryptionContext: kmsContext(input.context, wire.ref),
          DestinationKeyId: reference.ref,
          DestinationEncryptionContext: kmsContext(input.context, reference.ref),
        }),
        commandOptions(),
      );
    } catch (error) {
      if (kmsErrorName(error) === 'IncorrectKeyException') await this.#incorrectKey(reference, wire);
      return this.#fail(error, reference);
    }
    if (out.SourceKeyId !== wire.arn) throw new InvalidToken();
    return this.#wrapped(reference, out.KeyId, out.CiphertextBlob);
  }

  #wire(reference: KeyReference, input: UnwrapKeyInput): WireKey {
    if (input.version !== KMS_KEY_VERSION) {
      throw new KeyNotFound(
        `aws-kms: key '${reference.keyId}' has no version ${input.version} (KMS keys have one version here, 1)`,
      );
    }
    return decodeWrapped(input.ciphertext);
  }

  /** The reference's key ARN: from the cache or DescribeKey, or now when `fresh`. Errors typed. */
  async #current(reference: KeyReference, fresh: boolean): Promise<{ arn: string; fresh: boolean }> {
    try {
      if (fresh) return { arn: (await this.#resolver.describe(reference.ref)).Arn, fresh: true };
      return await this.#resolver.resolve(reference.ref);
    } catch (error) {
      return this.#fail(error, reference);
    }
  }

  /**
   * Unwrap's check before KMS: the envelope's key ARN against the configured
   * key's (resolved, cached for RESOLVE_TTL_MS), asked again before an
   * envelope of another key is refused. Unreachable KMS, unknown key:
   * their errors come from here, before the envelope is read.
   */
  async #check(reference: KeyReference, input: UnwrapKeyInput): Promise<WireKey> {
    const current = await this.#current(reference, false);
    const wire = this.#wire(reference, input);
    await this.checkEnvelopeKey(reference, wire, current);
    return wire;
  }

  /**
   * The same check for a wrapped key already decoded (the asymmetric format,
   * asymmetric.ts): its ARN against the configured key's, asked again before
   * it is refused (KmsAliasRepointed or InvalidToken).
   */
  async checkEnvelopeKey(
    reference: KeyReference,
    wire: Pick<WireKey, 'ref' | 'arn'>,
    known?: { arn: string; fresh: boolean },
  ): Promise<void> {
    let current = known ?? (await this.#current(reference, false));
    if (current.arn !== wire.arn && !current.fresh) current = await this.#current(reference, true);
    if (current.arn !== wire.arn) await this.#refuse(reference, wire, current.arn);
  }

  /** A failed KMS call of the asymmetric path, mapped as the symmetric path maps its own. */
  async failed(error: unknown, reference: KeyReference, wire?: Pick<WireKey, 'ref' | 'arn'>): Promise<never> {
    if (wire !== undefined && kmsErrorName(error) === 'IncorrectKeyException') {
      await this.#incorrectKey(reference, wire);
    }
    return this.#fail(error, reference);
  }

  /** KMS refused the ciphertext under the configured key (IncorrectKeyException). */
  async #incorrectKey(reference: KeyReference, wire: Pick<WireKey, 'ref' | 'arn'>): Promise<never> {
    const current = await this.#current(reference, true);
    if (current.arn === wire.arn) throw new InvalidToken();
    return this.#refuse(reference, wire, current.arn);
  }

  /**
   * The envelope's key is not the configured one. An alias that the envelope
   * was made through (the reference it records, bound by KMS) and that now
   * names another key, while the envelope's key still exists, was re-pointed:
   * KmsAliasRepointed. Anything else (an envelope of another key, a label
   * altered) is InvalidToken. Only an ARN in the configured key's account and
   * region is looked up.
   */
  async #refuse(
    reference: KeyReference,
    wire: Pick<WireKey, 'ref' | 'arn'>,
    current: string,
  ): Promise<never> {
    if (
      reference.isAlias &&
      wire.ref === reference.ref &&
      sameKeyOwner(wire.arn, current) &&
      (await this.#exists(wire.arn))
    ) {
      throw new KmsAliasRepointed(reference.keyId, reference.ref, wire.arn, current);
    }
    throw new InvalidToken();
  }

  /** Whether `arn` names a key KMS knows (in any state). */
  async #exists(arn: string): Promise<boolean> {
    try {
      return (await this.#resolver.describe(arn)).Arn === arn;
    } catch (error) {
      const name = kmsErrorName(error);
      if (name === 'NotFoundException' || name === 'ValidationException' || name === 'InvalidArnException') {
        return false;
      }
      throw mapKmsError(error);
    }
  }
}
