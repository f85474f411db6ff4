import { describe, expect, it } from 'vitest';
import { createAwsKmsProvider } from '../src/index.js';
import { decodeWrapped, encodeWrapped } from '../src/wire.js';

const arn = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('aws-kms wrapped keys', () => {
  it('round-trips reference, ARN and ciphertext', () => {
    const blob = Uint8Array.of(1, 2, 3);
    expect(decodeWrapped(encodeWrapped({ ref: 'alias/patients', arn, blob }))).toEqual({
      ref: 'alias/patients',
      arn,
      blob,
    });
  });

  it('refuses anything malformed with InvalidToken', () => {
    const good = encodeWrapped({ ref: 'alias/p', arn, blob: Uint8Array.of(9) });
    const variants = [
      new Uint8Array(0),
      good.subarray(0, 5),
      good.subarray(0, good.length - 1), // no ciphertext left
      Uint8Array.of(0x4b, 0x02, ...good.subarray(2)),
      encodeWrapped({ ref: 'alias/p', arn: 'not-an-arn', blob: Uint8Array.of(9) }),
      Uint8Array.of(0x4b, 0x01, 0xff, 0xff, ...good.subarray(4)),
    ];
    for (const bytes of variants) {
      expect(() => decodeWrapped(bytes)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    }
  });

  it('refuses, as InvalidToken and before KMS, what KMS would refuse as a malformed request', () => {
    // KMS takes at most 6144 bytes of CiphertextBlob (more is ValidationException, our InvalidArgument),
    // and the reference is sent to KMS in the encryption context: only one we could have written passes.
    const variants = [
      encodeWrapped({ ref: 'alias/p', arn, blob: new Uint8Array(6145).fill(1) }),
      encodeWrapped({ ref: 'not a reference', arn, blob: Uint8Array.of(9) }),
      encodeWrapped({ ref: 'alias/aws/ebs', arn, blob: Uint8Array.of(9) }),
    ];
    for (const bytes of variants) {
      expect(() => decodeWrapped(bytes)).toThrow(expect.objectContaining({ code: 'InvalidToken' }));
    }
    expect(decodeWrapped(encodeWrapped({ ref: arn, arn, blob: new Uint8Array(6144) })).blob).toHaveLength(
      6144,
    );
  });

  it('refuses key ids that are not alias names (no keys map) and bad references (keys map)', async () => {
    const provider = await createAwsKmsProvider({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    for (const keyId of ['a.b', 'aws/x', 'x@y']) {
      await expect(
        provider.wrapKey({ keyId, plaintext: new Uint8Array(32), context: {} }),
      ).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
    }
    await provider.close();
    await expect(
      createAwsKmsProvider({ region: 'us-east-1', keys: { patients: 'alias/aws/ebs' } }),
    ).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
