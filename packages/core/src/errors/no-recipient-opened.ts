import { isKeystoreError, KeystoreError, type KeystoreErrorCode } from './keystore-error.js';

/** What one recipient of an envelope answered when asked to open it. */
export interface RecipientAttempt {
  /** The configured recipient's name. */
  readonly recipient: string;
  /** The envelope's recipient it was asked for: provider type, key id and version. */
  readonly provider: string;
  readonly keyId: string;
  readonly version: number;
  /** The code of the error it gave. */
  readonly code: KeystoreErrorCode;
  /** That error's message: ours, never a backend's body or a secret. */
  readonly message: string;
}

/** The code of an error from a recipient (anything not ours is a provider's failure). */
export function attemptCode(error: unknown): KeystoreErrorCode {
  return isKeystoreError(error) ? error.code : 'ProviderError';
}

/**
 * The code for a set of failed attempts: theirs when all agree;
 * `ProviderUnavailable` when any recipient was unreachable, since a retry may
 * open the envelope; else the first recipient's (the configured order).
 */
export function combinedCode(attempts: readonly Pick<RecipientAttempt, 'code'>[]): KeystoreErrorCode {
  const [first] = attempts;
  if (first === undefined) return 'KeyNotFound';
  if (attempts.every((a) => a.code === first.code)) return first.code;
  if (attempts.some((a) => a.code === 'ProviderUnavailable')) return 'ProviderUnavailable';
  return first.code;
}

/**
 * No recipient of an envelope opened it. `attempts` says, for each recipient
 * tried in the configured order, which typed error it gave; `code` follows
 * `combinedCode`. Like every error of ours it holds no key material. (When
 * every recipient gave `InvalidToken`, the keystore throws a plain
 * `InvalidToken` instead, as for any tampered envelope.)
 */
export class NoRecipientOpened extends KeystoreError {
  readonly attempts: readonly RecipientAttempt[];

  constructor(attempts: readonly RecipientAttempt[], what = 'no recipient opened the envelope') {
    const list = attempts
      .map((a) => `${a.recipient} (${a.provider} key '${a.keyId}' v${a.version}): ${a.code}`)
      .join('; ');
    super(combinedCode(attempts), `${what}: ${list}`);
    this.attempts = Object.freeze(attempts.map((a) => Object.freeze({ ...a })));
  }
}
