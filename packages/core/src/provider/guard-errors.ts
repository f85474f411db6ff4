import {
  isErrorCode,
  isKeystoreError,
  KeystoreError,
  ProviderError,
  ProviderUnavailable,
} from '../errors/keystore-error.js';

const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|EPIPE)$/;
const SAFE_WORD = /^[A-Za-z][A-Za-z0-9_]{0,40}$/;

/**
 * errors: adapter errors become typed errors without cause or foreign
 * message. A KeystoreError keeps its code and its message (adapters write
 * those) but never its `cause`; anything else keeps only a class name and
 * code that look like identifiers, never a message, since backend messages
 * and bodies may hold secrets. Network failures are ProviderUnavailable.
 */
export function mapError(type: string, operation: string, error: unknown): KeystoreError {
  if (error instanceof Error && isKeystoreError(error) && isErrorCode(error.code)) {
    if (error.cause === undefined && error instanceof KeystoreError) return error;
    return new KeystoreError(error.code, String(error.message));
  }
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const words = [name, code].filter((w): w is string => typeof w === 'string' && SAFE_WORD.test(w));
  const message = `the ${type} provider failed in ${operation} (${words.join(' ') || 'error'})`;
  return typeof code === 'string' && NETWORK_CODES.test(code)
    ? new ProviderUnavailable(message)
    : new ProviderError(message);
}
