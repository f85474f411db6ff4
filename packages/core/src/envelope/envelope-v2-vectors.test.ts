import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vectorProvider } from '../../test/support/vector-provider.js';
import type { NoRecipientOpened } from '../errors/no-recipient-opened.js';
import { Keystore } from '../keystore/keystore.js';

/**
 * docs/envelope-format.md's version 2 vectors, read by the library: every
 * valid one opens, every invalid one is InvalidToken, and where a vector
 * lists the attempts, the library's error lists the same.
 */
const docs = new URL('../../../../docs/', import.meta.url);
interface Recipient {
  provider: string;
  keyId: string;
  version: number;
  masterMaterial: string;
}
interface Valid {
  name: string;
  description: string;
  context: Record<string, string>;
  plaintextHex: string;
  recipients: Recipient[];
  envelope: string;
}
interface Invalid {
  description: string;
  materialsOf: string;
  envelope: string;
  context: Record<string, string>;
  attempts?: { provider: string; keyId: string; version: number; code: string }[];
}
const vectors = JSON.parse(readFileSync(new URL('vectors/envelope-v2.json', docs), 'utf8')) as {
  valid: Valid[];
  invalid: Invalid[];
};
const byName = new Map(vectors.valid.map((v) => [v.name, v]));

/** A keystore with the vector's recipients, in its order. */
function keystoreFor(v: Valid): Keystore {
  return new Keystore({
    recipients: v.recipients.map((r, i) => ({ name: `r${i}`, provider: vectorProvider(r), key: r.keyId })),
  });
}

describe('envelope format v2 vectors, read by the library', () => {
  it.each(vectors.valid)('decrypts: $description', async (v) => {
    const ks = keystoreFor(v);
    expect(ks.inspect(v.envelope).recipients).toEqual(
      v.recipients.map(({ provider, keyId, version }) => ({ provider, keyId, version })),
    );
    const plaintext = await ks.decrypt(v.envelope, { context: v.context });
    expect(Buffer.from(plaintext).toString('hex')).toBe(v.plaintextHex);
  });

  it.each(vectors.invalid)('rejects: $description', async (bad) => {
    const ks = keystoreFor(byName.get(bad.materialsOf) as Valid);
    const error = await ks.decrypt(bad.envelope, { context: bad.context }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InvalidToken' });
    if (bad.attempts !== undefined) {
      expect(
        (error as NoRecipientOpened).attempts.map(({ provider, keyId, version, code }) => ({
          provider,
          keyId,
          version,
          code,
        })),
      ).toEqual(bad.attempts);
    }
  });
});
