import { type KMSClient as Client, KMSClient } from '@aws-sdk/client-kms';
import { callTimeLeftMs, ProviderUnavailable } from '@keystore/core/provider';

/** Static credentials; without them the SDK's default provider chain applies. */
export interface AwsKmsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface KmsClientOptions {
  readonly region: string;
  /** Default: `AWS_ENDPOINT_URL_KMS`, else the SDK's (the region's KMS endpoint). */
  readonly endpoint?: string;
  readonly credentials?: AwsKmsCredentials;
  /** SDK attempts per command, retries included; default 3. */
  readonly maxAttempts?: number;
}

/** A command's time outside a guarded call (extra methods called directly, clean-ups). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 3;

/** One client per provider, reused by every call (its connection pool with it). */
export function createKmsClient(options: KmsClientOptions): Client {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_KMS;
  return new KMSClient({
    region: options.region,
    ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    // The SDK logs nothing unless given a logger; say so rather than rely on its default.
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

/**
 * A client whose commands are sent once (no SDK retry), for requests that
 * are not safe to repeat: a RotateKeyOnDemand answered 5xx or cut off may
 * have been done, and a retry would spend another of the key's limited
 * on-demand rotations.
 */
export function createOneShotKmsClient(options: KmsClientOptions): Client {
  return createKmsClient({ ...options, maxAttempts: 1 });
}

/**
 * The per-command options that bound the SDK's work (its retries and their
 * backoff included) by the guarded call's deadline: an AbortSignal firing
 * when the call's time is up. No time left: ProviderUnavailable, unsent.
 */
export function commandOptions(timeoutMs?: number): { abortSignal: AbortSignal } {
  const left = timeoutMs ?? callTimeLeftMs() ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (left <= 0) throw new ProviderUnavailable('aws-kms: the call ran out of time before the KMS request');
  return { abortSignal: AbortSignal.timeout(Math.ceil(left)) };
}
