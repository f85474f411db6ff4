import { authenticatedClient, createSessionFor, type VaultAuth } from './auth/index.js';
import { createVaultClient, type VaultClient } from './client.js';
import type { RetryPolicy } from './http/retry.js';
import { loadTls, type VaultTlsOptions } from './http/tls.js';
import { createTransport } from './http/transport.js';

/** Where Vault is and how to reach it: what both modes share. */
export interface VaultConnectionOptions {
  /** `http(s)://host:port` of Vault or OpenBao, without `/v1`. */
  readonly endpoint: string;
  /** How to authenticate, with values (not references). */
  readonly auth: VaultAuth;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace` on every request. */
  readonly namespace?: string;
  /** Upper bound of one request outside a guarded call (which has its own deadline); default 30 s. */
  readonly requestTimeoutMs?: number;
  /** CA, client certificate and server name for an https endpoint; files read once, here. */
  readonly tls?: VaultTlsOptions;
  /** Retries of what Vault certainly did not process (sealed, standby, refused); bounded by the call's time. */
  readonly retry?: RetryPolicy;
}

/** An authenticated client, and the close that ends its session and its connections. */
export interface VaultConnection {
  readonly client: VaultClient;
  close(): Promise<void>;
}

/**
 * One transport (TLS context, connection pool) carries the session's logins
 * and renewals and the provider's requests alike, so TLS options, the
 * namespace and retries hold for every request; the client asks the session
 * for its token per request and retries once after a 403 the session
 * explains by a lost token.
 */
export function connectVault(options: VaultConnectionOptions): VaultConnection {
  const shared = {
    endpoint: options.endpoint,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  };
  const transport = createTransport(
    options.tls === undefined ? {} : { tls: loadTls(options.tls, options.endpoint) },
  );
  let session: ReturnType<typeof createSessionFor>;
  try {
    session = createSessionFor(options.auth, { ...shared, transport });
  } catch (error) {
    transport.close();
    throw error;
  }
  const client = authenticatedClient(
    createVaultClient({ ...shared, transport, token: () => session.token() }),
    session,
  );
  return {
    client,
    async close() {
      try {
        await session.close();
      } finally {
        transport.close();
      }
    },
  };
}
