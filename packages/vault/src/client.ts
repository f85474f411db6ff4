import { performance } from 'node:perf_hooks';
import { callTimeLeftMs, ProviderUnavailable } from '@keystore/core/provider';
import createNodeVault from 'node-vault';
import { mapVaultError } from './errors.js';
import { isRetryable, type RetryPolicy, withRetry } from './http/retry.js';
import type { TlsMaterial } from './http/tls.js';
import { createTransport, type Transport } from './http/transport.js';

/**
 * The only file that imports node-vault: a small typed client over its
 * generic `request`, with explicit paths (mounts come from configuration,
 * never from node-vault's hard-coded helpers).
 *
 * node-vault is used with care:
 * - its `debug` output prints every request body (data keys, plaintext), so it
 *   gets a no-op `debug` and never sees a logger;
 * - its HTTP library (postman-request) prints the request options, token
 *   header and body included, when NODE_DEBUG contains `request`, and has no
 *   AbortSignal; so node-vault gets our transport instead (its documented
 *   `request-promise` hook), on node:http(s), with the call's deadline (http/);
 * - it reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_PREFIX and
 *   VAULT_SKIP_VERIFY from the environment when an option is missing; we set
 *   every one explicitly so only our configuration decides.
 */

export type VaultMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';

export interface VaultClientOptions {
  /** `http(s)://host:port`, without `/v1`. */
  readonly endpoint: string;
  /**
   * Asked before every request, so that a renewed or new token is used as
   * soon as there is one (src/auth/session.ts); `undefined` sends no token
   * (a login).
   */
  readonly token: () => string | undefined | Promise<string | undefined>;
  /** Sent as `X-Vault-Namespace` on every request. */
  readonly namespace?: string;
  /** Upper bound of one request, retries included, when the call has no deadline of its own. */
  readonly requestTimeoutMs?: number;
  /** CA, client certificate and server name for https endpoints (read by http/tls.ts). */
  readonly tls?: TlsMaterial;
  /** Retries of the failures Vault certainly did not process (http/retry.ts). */
  readonly retry?: RetryPolicy;
  /**
   * A transport shared with other clients of the same endpoint (the auth
   * session's): its connections are closed by whoever created it, not by
   * this client's close. Without one the client makes its own, from `tls`.
   */
  readonly transport?: Transport;
}

export interface VaultClient {
  /**
   * One request to `/v1/<path>`; resolves with the parsed JSON body (an
   * object, or `{}` for 204), throws our typed errors (errors.ts).
   */
  request(
    method: VaultMethod,
    path: string,
    body?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<Record<string, unknown>>;
  /** Closes idle connections. */
  close(): void;
}

export interface RequestOptions {
  /**
   * Statuses besides 200/204 whose body is the answer when it has `data`:
   * a Transit batch answers 207 or 400 with its per-item results.
   */
  readonly answerStatuses?: readonly number[];
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function createVaultClient(options: VaultClientOptions): VaultClient {
  const fallbackTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const shared = options.transport;
  const send = shared ?? createTransport(options.tls === undefined ? {} : { tls: options.tls });
  const vault = createNodeVault({
    endpoint: options.endpoint.replace(/\/+$/, ''),
    token: '',
    namespace: options.namespace,
    pathPrefix: '',
    debug: () => {},
    'request-promise': { defaults: () => send },
  });
  // node-vault falls back to the environment for these when the option is empty.
  // The token goes in each request's headers, from options.token.
  Object.assign(vault, { namespace: options.namespace, pathPrefix: '', token: '' });

  return {
    async request(method, path, body, requestOptions) {
      const left = callTimeLeftMs();
      if (left !== undefined && left <= 0) throw new ProviderUnavailable('the call ran out of time');
      // One bound for all attempts: the call's time, or requestTimeoutMs outside a guarded call.
      const end = performance.now() + fallbackTimeout;
      const timeLeftMs = () =>
        Math.min(end - performance.now(), callTimeLeftMs() ?? Number.POSITIVE_INFINITY);
      const token = await options.token();
      const result: unknown = await withRetry(
        async (timeoutMs) => {
          try {
            return await vault.request({
              path: `/${path}`,
              method,
              timeoutMs, // read by our transport
              ...(token === undefined ? {} : { headers: { 'X-Vault-Token': token } }),
              ...(body === undefined ? {} : { json: body }),
            });
          } catch (error) {
            // A batch's 207/400 with per-item results is its answer, not a failure to retry or map.
            const answer = answerOf(error, requestOptions?.answerStatuses);
            if (answer !== undefined) return answer;
            throw error;
          }
        },
        {
          timeLeftMs,
          retryable: (error) => isRetryable(error, method),
          mapError: mapVaultError,
          ...(options.retry === undefined ? {} : { policy: options.retry }),
        },
      );
      return result !== null && typeof result === 'object' ? (result as Record<string, unknown>) : {};
    },

    close() {
      if (shared === undefined) send.close();
    },
  };
}

/** The body of node-vault's ApiResponseError when its status is one the caller takes as an answer. */
function answerOf(
  error: unknown,
  statuses: readonly number[] | undefined,
): Record<string, unknown> | undefined {
  if (statuses === undefined) return undefined;
  const response = (error as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  if (typeof response?.statusCode !== 'number' || !statuses.includes(response.statusCode)) return undefined;
  const body = response.body;
  if (body === null || typeof body !== 'object' || !('data' in body)) return undefined;
  return body as Record<string, unknown>;
}
