import { isKeystoreError } from '@keystore/core';
import { createMessage } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { messageRecipients } from '../src/pgp/decrypt.js';

describe('messageRecipients', () => {
  it('a message that parses but is encrypted to nobody is Corrupted, as decryptFile says', async () => {
    // An unencrypted OpenPGP message (a literal data packet): valid OpenPGP, no Blackbox file.
    const literal = await (await createMessage({ binary: new Uint8Array([1, 2, 3]) })).write();
    const error = await messageRecipients(literal as Uint8Array, 'keys/plain.gpg').catch((e: unknown) => e);
    expect(isKeystoreError(error, 'Corrupted')).toBe(true);
    expect((error as Error).message).toBe(
      'blackbox: keys/plain.gpg is corrupted: it is not encrypted to any public key',
    );
  });

  it('bytes that are no OpenPGP at all are Corrupted too', async () => {
    const error = await messageRecipients(new Uint8Array([0, 1, 2, 3]), 'x.gpg').catch((e: unknown) => e);
    expect(isKeystoreError(error, 'Corrupted')).toBe(true);
  });
});
