import {
  AccessDenied,
  ConfigError,
  InvalidArgument,
  InvalidToken,
  isKeystoreError,
  KeyExists,
  KeyNotFound,
  type KeystoreError,
  ProviderError,
  ProviderUnavailable,
  UnsupportedOperation,
} from '@keystore/core/provider';

/**
 * KMS's errors as our typed errors. Matched on the SDK error's `name` (the
 * KMS exception type) and HTTP status only: KMS messages name ARNs and echo
 * request fields, so no SDK text, and no SDK error as `cause`, reaches ours.
 */

/** Why a KMS key cannot be used now: KMS DisabledException / KMSInvalidStateException. */
export type KmsKeyState =
  | 'disabled'
  | 'pending-deletion'
  | 'pending-import'
  | 'unavailable'
  | 'invalid-state';

const STATE_TEXT: Record<KmsKeyState, string> = {
  disabled: 'is disabled (EnableKey makes it usable again)',
  'pending-deletion':
    'is pending deletion (CancelKeyDeletion before the deletion date makes it usable again, after EnableKey)',
  'pending-import': 'has no key material yet (pending import)',
  unavailable: 'is unavailable (its custom key store is disconnected)',
  'invalid-state': 'is not in a state that allows this operation',
};

/**
 * A KMS key that exists but refuses to work: disabled, or scheduled for
 * deletion. Code `AccessDenied` (the backend refuses the operation); `state`
 * says which, so callers can tell it from a permission problem.
 */
export class KmsKeyUnusable extends AccessDenied {
  readonly state: KmsKeyState;
  constructor(keyId: string, state: KmsKeyState) {
    super(`aws-kms: the KMS key of '${keyId}' ${STATE_TEXT[state]}`);
    this.state = state;
  }
}

/**
 * An envelope wrapped under the KMS key an alias named then, presented when
 * the alias names another key. Code `AccessDenied`: the configuration now
 * refuses it. The ARNs are properties (not secret), kept out of the message.
 */
export class KmsAliasRepointed extends AccessDenied {
  readonly alias: string;
  readonly envelopeKeyArn: string;
  readonly currentKeyArn: string | undefined;
  constructor(keyId: string, alias: string, envelopeKeyArn: string, currentKeyArn: string | undefined) {
    super(
      `aws-kms: the envelope was wrapped under the KMS key that '${alias}' (key '${keyId}') named then; the alias now names another key. Point the alias back, or configure the old key's ARN to read it`,
    );
    this.alias = alias;
    this.envelopeKeyArn = envelopeKeyArn;
    this.currentKeyArn = currentKeyArn;
  }
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)$/;
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9]{0,60}$/;

const UNAVAILABLE = new Set([
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);
const CREDENTIALS_REFUSED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);

export interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** The KMS exception name of an SDK error, when it looks like one. */
export function kmsErrorName(error: unknown): string | undefined {
  const name = (error as SdkErrorShape | null)?.name;
  return typeof name === 'string' && SAFE_NAME.test(name) ? name : undefined;
}

/**
 * The typed error for a failed KMS call about `keyId`. DisabledException and
 * KMSInvalidStateException come here as `KmsKeyUnusable` with the state the
 * caller found out (provider.ts asks DescribeKey), or `invalid-state`.
 */
export function mapKmsError(error: unknown, keyId?: string, state?: KmsKeyState): KeystoreError {
  if (isKeystoreError(error)) return error;
  const name = kmsErrorName(error);
  const code = (error as SdkErrorShape | null)?.code;
  const status = (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  const key = keyId === undefined ? 'the KMS key' : `the KMS key of '${keyId}'`;
  if (typeof code === 'string' && NETWORK_CODES.test(code)) {
    return new ProviderUnavailable(`aws-kms: KMS cannot be reached (${code})`);
  }
  switch (name) {
    case 'NotFoundException':
      return new KeyNotFound(`aws-kms: ${key} does not exist`);
    case 'DisabledException':
      return new KmsKeyUnusable(keyId ?? '?', state ?? 'disabled');
    case 'KMSInvalidStateException':
      return new KmsKeyUnusable(keyId ?? '?', state ?? 'invalid-state');
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      return new InvalidToken();
    case 'AlreadyExistsException':
      return new KeyExists(`aws-kms: ${key} exists already`);
    case 'InvalidKeyUsageException':
      return new UnsupportedOperation(
        `aws-kms: ${key} is neither a symmetric nor an RSA encryption key (KeyUsage ENCRYPT_DECRYPT); other keys are not supported`,
      );
    case 'UnsupportedOperationException':
      return new UnsupportedOperation(`aws-kms: KMS does not support this operation on ${key}`);
    case 'ValidationException':
    case 'InvalidAliasNameException':
    case 'InvalidArnException':
    case 'TagException':
      return new InvalidArgument(`aws-kms: KMS refused the request as invalid (${name})`);
    case 'LimitExceededException':
      return new ProviderError('aws-kms: a KMS quota of the account is exhausted (LimitExceededException)');
    case 'CredentialsProviderError':
      return new ConfigError(
        'aws-kms: no AWS credentials were found (configure credentials or the SDK chain)',
      );
  }
  if (name !== undefined && CREDENTIALS_REFUSED.has(name)) {
    return new AccessDenied(`aws-kms: KMS refused the request (${name})`);
  }
  if ((name !== undefined && UNAVAILABLE.has(name)) || status === 502 || status === 503 || status === 504) {
    return new ProviderUnavailable(`aws-kms: KMS is unavailable or timed out (${name ?? `HTTP ${status}`})`);
  }
  return new ProviderError(`aws-kms: the KMS request failed (${name ?? 'error'})`);
}
