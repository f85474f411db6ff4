import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ProviderError, ProviderUnavailable } from '@keystore/core/provider';
import { VaultTransportError } from '../errors.js';
import type { TlsMaterial } from './tls.js';

/**
 * The HTTP transport node-vault is given (its documented `request-promise`
 * hook) instead of postman-request, on node:http / node:https:
 * - TLS (CA, client certificate, server name) goes straight to the https
 *   agent as one OpenSSL context (http/tls.ts), with no dependency;
 *   certificates are always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says;
 * - every request has a deadline (the attempt's time, from the call's);
 * - an answer larger than MAX_RESPONSE_BYTES is refused before it is all read;
 * - redirects are never followed (a 3xx is an answer like any other);
 * - a refused connection is told apart from other failures: the request was
 *   certainly not sent, so retry.ts may send it again.
 */

/** What node-vault hands its transport (plus our `timeoutMs`), and what it expects back. */
export interface TransportOptions {
  readonly uri: string;
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  /** This attempt's time; set by client.ts on every request. */
  readonly timeoutMs?: number;
}
export interface TransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}
export type Transport = ((options: TransportOptions) => Promise<TransportResponse>) & {
  /** Closes the idle connections. */
  close(): void;
};

/** Vault's answers to Transit and sys calls are a few KiB; anything past this is not one. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Used when a request comes without `timeoutMs` (it never does from client.ts). */
const FALLBACK_TIMEOUT_MS = 30_000;
/**
 * Idle keep-alive connections are closed after this, well before Vault's own
 * idle timeout (5 min), so a reused connection is rarely one the server is
 * closing at that moment (a reset then fails the call: it is not retried).
 */
const IDLE_SOCKET_MS = 4_000;

/** OpenSSL's codes for a certificate we did not trust, or one that names another host. */
const UNTRUSTED_CERTIFICATE =
  /^(?:UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

export interface TransportConfig {
  readonly tls?: TlsMaterial;
  readonly maxResponseBytes?: number;
}

export function createTransport(config: TransportConfig = {}): Transport {
  const maxBytes = config.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const tls = config.tls;
  const httpAgent = new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    timeout: IDLE_SOCKET_MS,
    rejectUnauthorized: true,
    ...(tls === undefined ? {} : { secureContext: tls.secureContext }),
    ...(tls?.serverName === undefined ? {} : { servername: tls.serverName }),
  });

  const send = (options: TransportOptions): Promise<TransportResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(options.uri);
      const https = url.protocol === 'https:';
      const payload =
        options.json !== undefined && typeof options.json === 'object'
          ? Buffer.from(JSON.stringify(options.json), 'utf8')
          : undefined;
      const headers: Record<string, string | number> = { ...options.headers, accept: 'application/json' };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      // No `headers` here: with NODE_DEBUG=http, Node prints these options (the token
      // header with them) when it opens a connection. Headers set afterwards are not printed.
      const request = (https ? httpsRequest : httpRequest)(url, {
        method: options.method,
        agent: https ? httpsAgent : httpAgent,
      });
      for (const [name, value] of Object.entries(headers)) request.setHeader(name, value);
      const timeoutMs = Math.max(1, Math.ceil(options.timeoutMs ?? FALLBACK_TIMEOUT_MS));
      const timer = setTimeout(() => fail(new VaultTransportError('timeout')), timeoutMs);
      request.once('error', (error) => fail(transportError(error)));
      request.once('response', (response: IncomingMessage) => {
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          fail(tooLarge(maxBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail(tooLarge(maxBytes));
          else chunks.push(chunk);
        });
        response.once('error', (error) => fail(transportError(error)));
        response.once('aborted', () => fail(new VaultTransportError('network')));
        response.once('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            statusCode: response.statusCode ?? 0,
            body: parseBody(Buffer.concat(chunks)),
            request: { path: url.pathname },
          });
        });
      });
      request.end(payload);
    });

  return Object.assign(send, {
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}

function parseBody(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined; // not JSON (a proxy's page): only the status is used
  }
}

function tooLarge(maxBytes: number): ProviderError {
  return new ProviderError(
    `vault: the answer is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB and was refused`,
  );
}

/**
 * A failure with no HTTP answer, as our error. Only the system's error code
 * is kept (a constant such as ECONNREFUSED), never the error's text.
 */
function transportError(error: Error): Error {
  if (error instanceof VaultTransportError || error instanceof ProviderError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  // The kernel refused the connection: not one byte of the request left this process.
  if (code === 'ECONNREFUSED') return new VaultTransportError('refused');
  if (UNTRUSTED_CERTIFICATE.test(code)) {
    return new ProviderUnavailable(
      `vault: the TLS connection failed: the server's certificate is not trusted or does not name the server (${code}); check tls.caFile and tls.serverName`,
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return new ProviderUnavailable(
      `vault: the TLS connection failed (${code}); if the server requires a client certificate, set tls.certFile and tls.keyFile`,
    );
  }
  return new VaultTransportError('network');
}
