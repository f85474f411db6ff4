import { InvalidArgument } from '../errors/keystore-error.js';

/** Key ids: 1 to 256 letters, digits and `. _ : / @ + = -` (room for ARNs, paths and aliases). */
const KEY_ID = /^[\p{L}\p{N}._:/@+=-]{1,256}$/u;

export function isValidKeyId(keyId: unknown): keyId is string {
  return typeof keyId === 'string' && KEY_ID.test(keyId);
}

export function checkKeyId(keyId: unknown): asserts keyId is string {
  if (!isValidKeyId(keyId)) {
    throw new InvalidArgument('key id must be 1 to 256 characters: letters, digits and . _ : / @ + = -');
  }
}
