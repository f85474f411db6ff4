import { GetKeyRotationStatusCommand, type KMSClient, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import {
  beginCommit,
  Conflict,
  callTimeLeftMs,
  type KeyMetadata,
  UnsupportedOperation,
} from '@keystore/core/provider';
import { commandOptions } from './client.js';
import { KMS_KEY_VERSION } from './envelope-keys.js';
import { kmsErrorName, mapKmsError } from './errors.js';
import type { KeyLifecycle } from './lifecycle.js';

/**
 * rotateKey for a provider that rotates in place (`versioning: 'in-place'`):
 * KMS puts new material behind the same key id and keeps the old for
 * Decrypt and ReEncrypt, so the key's version stays KMS_KEY_VERSION.
 */

/** How long rotateKey waits for KMS to finish a rotation when it runs outside a guarded call. */
export const ROTATION_WAIT_MS = 10_000;
/** Pauses between GetKeyRotationStatus polls, the last repeated. */
const POLL_PAUSES_MS = [50, 100, 200, 400, 800, 1_600];
/** Time kept back from the call's deadline for the last poll's own request. */
const POLL_RESERVE_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rotationError(error: unknown, keyId: string): Error {
  switch (kmsErrorName(error)) {
    case 'LimitExceededException':
      // Per key, not per account: AWS allows a fixed number of on-demand rotations in a key's lifetime.
      return new UnsupportedOperation(
        `aws-kms: the KMS key of '${keyId}' has no on-demand rotations left (LimitExceededException); enable automatic rotation, or move the alias to a new key`,
      );
    case 'ConflictException':
      // KMS: an automatic rotation of the key is in progress or due within 20 minutes.
      return new Conflict(
        `aws-kms: a rotation of the KMS key of '${keyId}' is in progress or about to begin`,
      );
    default:
      return mapKmsError(error, keyId);
  }
}

/**
 * Waits until GetKeyRotationStatus no longer shows an on-demand rotation in
 * progress (AWS finishes one asynchronously; LocalStack 4.9.2 shows none even
 * at once), or the time is up. The rotation was accepted already, so neither
 * a slow KMS nor a failed poll turns it into an error: the caller would retry
 * and spend another of the key's limited rotations.
 */
async function untilRotated(client: KMSClient, arn: string): Promise<void> {
  const started = performance.now();
  const left = () => callTimeLeftMs() ?? ROTATION_WAIT_MS - (performance.now() - started);
  for (let attempt = 0; left() > POLL_RESERVE_MS; attempt++) {
    try {
      const status = await client.send(
        new GetKeyRotationStatusCommand({ KeyId: arn }),
        commandOptions(left() - POLL_RESERVE_MS / 2),
      );
      if (status.OnDemandRotationStartDate === undefined) return;
    } catch {
      return;
    }
    const pause = POLL_PAUSES_MS[Math.min(attempt, POLL_PAUSES_MS.length - 1)] as number;
    if (left() - pause <= POLL_RESERVE_MS) return;
    await sleep(pause);
  }
}

/**
 * RotateKeyOnDemand of the key behind `keyId`, then the wait for it; the
 * version stays KMS_KEY_VERSION. `client` must send once (no SDK retries,
 * client.ts createOneShotKmsClient): a retried rotation may be a second one.
 */
export async function rotateInPlace(
  client: KMSClient,
  lifecycle: KeyLifecycle,
  keyId: string,
): Promise<KeyMetadata> {
  const key = await lifecycle.describeKey(keyId);
  beginCommit('RotateKeyOnDemand');
  try {
    await client.send(new RotateKeyOnDemandCommand({ KeyId: key.arn }), commandOptions());
  } catch (error) {
    throw rotationError(error, keyId);
  }
  await untilRotated(client, key.arn);
  return {
    keyId,
    latestVersion: KMS_KEY_VERSION,
    ...(key.createdAt === undefined ? {} : { createdAt: key.createdAt }),
    ...(key.description === undefined ? {} : { description: key.description }),
  };
}
