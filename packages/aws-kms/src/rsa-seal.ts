import { createSecretKey, randomFillSync } from 'node:crypto';
import type { RsaOaep } from '@keystore/core';
import { type EncryptionContext, InvalidToken, openAesGcm, sealAesGcm } from '@keystore/core/provider';
import { type AsymmetricWireKey, asymmetricAad, encodeHeader } from './asymmetric-wire.js';

/** The key-encryption key: AES-256, one per wrap. */
export const KEK_LENGTH = 32;

/**
 * Wraps a data key to an RSA KMS key without KMS: a fresh KEK, encrypted to
 * the public key (RSAES_OAEP_SHA_256, by core's RsaOaep), seals the data key
 * with AES-256-GCM (core's helper) over the header and the context
 * (asymmetric-wire.ts). The KEK is zeroed before this returns; the KeyObject
 * made of it is left to the garbage collector (OpenSSL's copy, not ours).
 */
export function sealToPublicKey(
  rsa: RsaOaep,
  ref: string,
  arn: string,
  dataKey: Uint8Array,
  context: EncryptionContext,
): Uint8Array {
  const kek = randomFillSync(new Uint8Array(KEK_LENGTH));
  try {
    const header = encodeHeader(ref, arn, rsa.encrypt(kek));
    const sealed = sealAesGcm(createSecretKey(kek), dataKey, asymmetricAad(header, context));
    const out = new Uint8Array(header.length + sealed.length);
    out.set(header, 0);
    out.set(sealed, header.length);
    return out;
  } finally {
    kek.fill(0);
  }
}

/** Opens the seal with the KEK KMS decrypted, and zeroes the KEK. @throws InvalidToken whatever is wrong. */
export function openWithKek(kek: Uint8Array, wire: AsymmetricWireKey): Uint8Array {
  try {
    if (kek.length !== KEK_LENGTH) throw new InvalidToken();
    const plaintext = openAesGcm(createSecretKey(kek), wire.sealed, wire.aad);
    if (plaintext === undefined) throw new InvalidToken();
    return plaintext;
  } finally {
    kek.fill(0);
  }
}
