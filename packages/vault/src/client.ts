import { callTimeLeftMs, ProviderUnavailable } from '@keystore/core/provider';
import createNodeVault from 'node-vault';
import { mapVaultError, VaultTransportError } from './errors.js';

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
 *   `request-promise` hook), built on Node's fetch, with the call's deadline;
 * - it reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_PREFIX and
 *   VAULT_SKIP_VERIFY from the environment when an option is missing; we set
 *   every one explicitly so only our configuration decides.
 */

export type VaultMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';

export interface VaultClientOptions {
  /** `http(s)://host:port`, without `/v1`. */
  readonly endpoint: string;
  readonly token: string;
  /** Sent as `X-Vault-Namespace` on every request. */
  readonly namespace?: string;
  /** Upper bound of one request when the call has no deadline of its own. */
  readonly requestTimeoutMs?: number;
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
}

export interface RequestOptions {
  /**
   * Statuses besides 200/204 whose body is the answer when it has `data`:
   * a Transit batch answers 207 or 400 with its per-item results.
   */
  readonly answerStatuses?: readonly number[];
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** What node-vault hands its transport, and what it expects back. */
interface TransportOptions {
  readonly uri: string;
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
}
interface TransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

function transport(timeoutMs: () => number) {
  return async (options: TransportOptions): Promise<TransportResponse> => {
    const url = new URL(options.uri);
    const hasBody = options.json !== undefined && typeof options.json === 'object';
    // AbortSignal.timeout takes whole milliseconds only (a fraction throws).
    const signal = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs())));
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method,
        headers: { ...options.headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
        body: hasBody ? JSON.stringify(options.json) : undefined,
        redirect: 'error',
        signal,
      });
    } catch (error) {
      const name = (error as Error).name;
      throw new VaultTransportError(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network');
    }
    let body: unknown;
    try {
      const text = await response.text();
      body = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') {
        throw new VaultTransportError('timeout');
      }
      body = undefined; // not JSON (a proxy's page): only the status is used
    }
    return { statusCode: response.status, body, request: { path: url.pathname } };
  };
}

export function createVaultClient(options: VaultClientOptions): VaultClient {
  const fallbackTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const timeLeft = () => Math.min(fallbackTimeout, callTimeLeftMs() ?? fallbackTimeout);
  const send = transport(timeLeft);
  const vault = createNodeVault({
    endpoint: options.endpoint.replace(/\/+$/, ''),
    token: options.token,
    namespace: options.namespace,
    pathPrefix: '',
    debug: () => {},
    'request-promise': { defaults: () => send },
  });
  // node-vault falls back to the environment for these when the option is empty.
  Object.assign(vault, { namespace: options.namespace, pathPrefix: '', token: options.token });

  return {
    async request(method, path, body, requestOptions) {
      const left = callTimeLeftMs();
      if (left !== undefined && left <= 0) throw new ProviderUnavailable('the call ran out of time');
      try {
        const result: unknown = await vault.request({
          path: `/${path}`,
          method,
          ...(body === undefined ? {} : { json: body }),
        });
        return result !== null && typeof result === 'object' ? (result as Record<string, unknown>) : {};
      } catch (error) {
        const answer = answerOf(error, requestOptions?.answerStatuses);
        if (answer !== undefined) return answer;
        throw mapVaultError(error);
      }
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
