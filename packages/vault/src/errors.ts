import {
  AccessDenied,
  Conflict,
  InvalidToken,
  isKeystoreError,
  KeyNotFound,
  type KeystoreError,
  ProviderError,
  ProviderUnavailable,
} from '@keystore/core/provider';

/**
 * Vault's errors as our typed errors. Vault answers with a status and a list
 * of messages; the messages are matched here against the few we know
 * (measured on OpenBao 2.7; HashiCorp Vault words them the same), but never
 * copied into ours: a response body is the backend's text, not ours, and may
 * echo what was sent. No error keeps the original as `cause` for the same
 * reason (node-vault's error carries the whole body).
 */

/** Messages that mean the key, or the version asked for, does not exist. */
const KEY_NOT_FOUND = [
  /encryption key not found/i,
  /^key not found/i,
  /version is too new/i,
  /^no existing key named/i, // keys/<name>/config on a missing key
];
/** Messages that mean the ciphertext cannot be decrypted with this key and context. */
const INVALID_CIPHERTEXT = [
  /message authentication failed/i,
  /invalid ciphertext/i,
  /unable to decode ciphertext/i,
  /illegal base64/i,
  /missing ciphertext/i,
];
/**
 * OpenBao's transactional storage refusing a write that raced another one on
 * the same key (measured on 2.7.2: concurrent `rotate` calls, HTTP 500).
 * Not safe to retry: measured, a rotation retried after this answer can
 * still add a version of its own (the failed one took effect in the server's
 * cache), so its outcome is unknown and we say so.
 */
const WRITE_CONFLICT = [/transaction commit failed/i];
/**
 * KV v2 refusing a write whose `cas` is not the secret's current version
 * (measured on OpenBao 2.7.2: HTTP 400, for a create with `cas: 0` on an
 * existing secret too). Nothing was written: safe to retry from a fresh read.
 */
const CAS_MISMATCH = [/check-and-set parameter did not match the current version/i];
/** A 404 for a path no engine is mounted at: not an absent key (a mistyped mount). */
const NO_ROUTE = [/no handler for route/i];
/**
 * Below `min_decryption_version`: the version was retired on purpose.
 * Measured on OpenBao 2.7.2, decrypt and rewrap, single and per batch item:
 * `ciphertext or signature version is disallowed by policy (too old)`.
 * The older wording is kept for servers that still use it.
 */
const VERSION_RETIRED = [/version is disallowed by policy \(too old\)/i, /ciphertext version is disabled/i];
/**
 * The listener's JSON limits (`max_request_json_strings`, 1,000 by default)
 * refusing a whole request, measured on OpenBao 2.7.2 as HTTP 400. Batches
 * are cut below the default (transit/batch.ts); a server configured lower
 * still refuses them.
 */
const JSON_TOO_COMPLEX = [/refused JSON input due to high complexity/i];

export const VERSION_RETIRED_MESSAGE =
  "vault: the key version was retired (it is below the key's min_decryption_version); lowering min_decryption_version restores it";

const TRANSPORT_MESSAGES = {
  timeout: 'the request to Vault timed out',
  network: 'Vault cannot be reached',
  refused: 'Vault cannot be reached (connection refused)',
} as const;

/**
 * No HTTP answer, thrown by the transport (http/transport.ts). `refused`: the
 * connection was refused, so the request was certainly not sent (retry.ts may
 * send it again); `network` (reset, DNS...) and `timeout` may have reached Vault.
 */
export class VaultTransportError extends Error {
  constructor(readonly reason: keyof typeof TRANSPORT_MESSAGES) {
    super(TRANSPORT_MESSAGES[reason]);
    this.name = 'VaultTransportError';
  }
}

export interface ApiError {
  readonly statusCode: number;
  readonly messages: readonly string[];
}

/** node-vault's ApiResponseError: `response: { statusCode, body: { errors: [...] } }`. */
export function apiError(error: unknown): ApiError | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const response = (error as { response?: unknown }).response;
  if (response === null || typeof response !== 'object') return undefined;
  const statusCode = (response as { statusCode?: unknown }).statusCode;
  if (typeof statusCode !== 'number') return undefined;
  const body = (response as { body?: unknown }).body;
  const errors =
    body !== null && typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  const messages = Array.isArray(errors) ? errors.filter((m): m is string => typeof m === 'string') : [];
  return { statusCode, messages };
}

const matches = (messages: readonly string[], patterns: readonly RegExp[]) =>
  messages.some((m) => patterns.some((p) => p.test(m)));

export function mapVaultError(error: unknown): KeystoreError {
  if (isKeystoreError(error)) return error;
  if (error instanceof VaultTransportError) return new ProviderUnavailable(error.message);
  const api = apiError(error);
  if (api === undefined) return new ProviderError('the request to Vault failed');
  const { statusCode, messages } = api;
  if ([429, 473, 502, 503, 504].includes(statusCode)) {
    return new ProviderUnavailable(
      `Vault is unavailable (HTTP ${statusCode}: sealed, standby, or overloaded)`,
    );
  }
  if (statusCode === 500 && matches(messages, WRITE_CONFLICT)) {
    return new ProviderError(
      'vault: a concurrent write to the same key made the storage transaction fail (HTTP 500); the outcome is unknown',
    );
  }
  if (statusCode === 403) return new AccessDenied('Vault refused the request (HTTP 403: permission denied)');
  if (statusCode === 404 && matches(messages, NO_ROUTE)) {
    return new ProviderError('vault: no secrets engine is mounted at that path (HTTP 404)');
  }
  if (statusCode === 404) return new KeyNotFound('the Transit key does not exist');
  if (statusCode === 400) {
    if (matches(messages, CAS_MISMATCH)) {
      return new Conflict('vault: the KV secret was changed concurrently (check-and-set)');
    }
    if (matches(messages, JSON_TOO_COMPLEX)) {
      return new ProviderError(
        "vault: the server refused the request as too large for its JSON limits (the listener's max_request_json_strings)",
      );
    }
    const mapped = mapRefusal(messages);
    if (mapped !== undefined) return mapped;
  }
  return new ProviderError(`Vault answered HTTP ${statusCode}`);
}

/** The refusals of one ciphertext (or key): a whole request's 400, or one batch item's error. */
function mapRefusal(messages: readonly string[]): KeystoreError | undefined {
  if (matches(messages, VERSION_RETIRED)) return new KeyNotFound(VERSION_RETIRED_MESSAGE);
  if (matches(messages, KEY_NOT_FOUND))
    return new KeyNotFound('the Transit key, or key version, does not exist');
  if (matches(messages, INVALID_CIPHERTEXT)) return new InvalidToken();
  return undefined;
}

/** One `batch_results` item's `error`, as the error of that item's slot. */
export function mapVaultItemError(message: string): KeystoreError {
  return mapRefusal([message]) ?? new ProviderError('vault: a batch item failed');
}
