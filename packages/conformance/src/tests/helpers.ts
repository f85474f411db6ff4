import {
  type EncryptionContext,
  IN_PLACE_VERSION,
  type UnwrapKeyInput,
  type WrappedKey,
} from '@keystore/core';
import { check, checkEqual, step } from '../assert.js';
import { randomBytes } from '../bytes.js';
import type { ConformanceContext, ConformanceTest } from '../types.js';

/** Declares a test (frozen, so a caller cannot change the shared list). */
export function defineTest(test: ConformanceTest): ConformanceTest {
  return Object.freeze({ ...test, requires: Object.freeze([...test.requires]) });
}

/** The context most tests bind: several entries, one of them not ASCII. */
export const CONTEXT: EncryptionContext = Object.freeze({
  tenant: 'conformance',
  purpose: 'test',
  région: 'zürich ✓',
});

export function checkWrappedKey(wrapped: WrappedKey, keyId: string, what: string): void {
  checkEqual(wrapped.keyId, keyId, `${what}: wrapped.keyId`);
  check(
    Number.isSafeInteger(wrapped.version) && wrapped.version >= 1,
    `${what}: wrapped.version must be a positive integer, got ${String(wrapped.version)}`,
  );
  check(
    wrapped.ciphertext instanceof Uint8Array && wrapped.ciphertext.length > 0,
    `${what}: empty ciphertext`,
  );
}

/**
 * The latest version after one more rotation of a key at `version`: the next
 * number for numbered providers, the constant version for in-place ones.
 */
export function versionAfterRotation(ctx: ConformanceContext, version: number): number {
  return ctx.versioning === 'in-place' ? IN_PLACE_VERSION : version + 1;
}

/** Wraps a fresh random data key under `keyId`. */
export async function wrapNew(
  ctx: ConformanceContext,
  keyId: string,
  context: EncryptionContext = CONTEXT,
  length = 32,
): Promise<{ dek: Uint8Array; wrapped: WrappedKey }> {
  const dek = randomBytes(length);
  const wrapped = await step(`wrapKey('${keyId}')`, ctx.provider.wrapKey({ keyId, plaintext: dek, context }));
  checkWrappedKey(wrapped, keyId, `wrapKey('${keyId}')`);
  return { dek, wrapped };
}

/** The unwrap input for `wrapped`, with changes. */
export function unwrapInput(
  wrapped: WrappedKey,
  context: EncryptionContext,
  changes: Partial<UnwrapKeyInput> = {},
): UnwrapKeyInput {
  return {
    keyId: wrapped.keyId,
    version: wrapped.version,
    ciphertext: wrapped.ciphertext,
    context,
    ...changes,
  };
}

/** A copy of `text` with the character at `index` replaced by another of the same alphabet. */
export function replaceChar(text: string, index: number): string {
  let i = index;
  while (i < text.length - 1 && text[i] === '.') i++;
  const replacement = text[i] === 'A' ? 'B' : 'A';
  return `${text.slice(0, i)}${replacement}${text.slice(i + 1)}`;
}
