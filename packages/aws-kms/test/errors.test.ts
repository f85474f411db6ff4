import { describe, expect, it } from 'vitest';
import { mapKmsError } from '../src/errors.js';
import { KmsKeyUnusable } from '../src/index.js';

const sdkError = (
  name: string,
  status = 400,
  message = 'arn:aws:kms:eu-central-1:111122223333:key/abc secret',
) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('aws-kms error mapping', () => {
  it.each([
    ['NotFoundException', 'KeyNotFound'],
    ['DisabledException', 'AccessDenied'],
    ['KMSInvalidStateException', 'AccessDenied'],
    ['AccessDeniedException', 'AccessDenied'],
    ['UnrecognizedClientException', 'AccessDenied'],
    ['InvalidCiphertextException', 'InvalidToken'],
    ['IncorrectKeyException', 'InvalidToken'],
    ['ThrottlingException', 'ProviderUnavailable'],
    ['KMSInternalException', 'ProviderUnavailable'],
    ['AbortError', 'ProviderUnavailable'],
    ['AlreadyExistsException', 'KeyExists'],
    ['ValidationException', 'InvalidArgument'],
    ['InvalidKeyUsageException', 'UnsupportedOperation'],
    ['SomethingNew', 'ProviderError'],
  ])('%s is %s, and no SDK text reaches the message', (name, code) => {
    const mapped = mapKmsError(sdkError(name), 'patients');
    expect(mapped.code).toBe(code);
    expect(mapped.message).not.toMatch(/arn:|secret/);
    expect(mapped.cause).toBeUndefined();
  });

  it('network failures and 503 are ProviderUnavailable; the state of an unusable key is kept', () => {
    expect(mapKmsError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).code).toBe(
      'ProviderUnavailable',
    );
    expect(mapKmsError(sdkError('Unknown', 503)).code).toBe('ProviderUnavailable');
    const unusable = mapKmsError(sdkError('KMSInvalidStateException'), 'patients', 'pending-deletion');
    expect(unusable).toBeInstanceOf(KmsKeyUnusable);
    expect(unusable).toMatchObject({ state: 'pending-deletion' });
    expect(unusable.message).toMatch(/pending deletion/);
  });
});
