import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '@keystore/core/provider';

/**
 * The `tls` options: which CA to trust, a client certificate for mutual TLS,
 * and the name the server's certificate must carry. Each PEM comes from a
 * file (`caFile`, `certFile`, `keyFile`) or is given as it is (`ca`, `cert`,
 * `key`; the configuration's `key` is a secret reference, resolved by
 * definition.ts). Files are read once, when the provider is created: a
 * certificate renewed on disk takes effect with a new provider.
 */
export interface VaultTlsOptions {
  /** PEM file of the CA(s) that signed Vault's certificate; replaces Node's default trust store. */
  readonly caFile?: string;
  readonly ca?: string | Uint8Array;
  /** PEM file of the client certificate (mutual TLS); needs `keyFile` or `key`. */
  readonly certFile?: string;
  readonly cert?: string | Uint8Array;
  /** PEM file of the client certificate's private key (unencrypted). */
  readonly keyFile?: string;
  readonly key?: string | Uint8Array;
  /** The name Vault's certificate must carry (and SNI), when it is not the endpoint's host. */
  readonly serverName?: string;
}

/**
 * What the https agent gets: an OpenSSL context, not the PEM texts. With
 * NODE_DEBUG=http Node prints the agent's options when it connects; a
 * context prints as an opaque object, a `key` option would print the key.
 */
export interface TlsMaterial {
  readonly secureContext: SecureContext;
  readonly serverName?: string;
}

function pem(
  options: VaultTlsOptions,
  fileField: 'caFile' | 'certFile' | 'keyFile',
  valueField: 'ca' | 'cert' | 'key',
): Buffer | undefined {
  const path = options[fileField];
  const value = options[valueField];
  if (path !== undefined && value !== undefined) {
    throw new ConfigError(`tls.${fileField} and tls.${valueField}: give one of them, not both`);
  }
  if (value !== undefined) return Buffer.from(value);
  if (path === undefined) return undefined;
  if (typeof path !== 'string' || path === '') throw new ConfigError(`tls.${fileField}: must be a file path`);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `tls.${fileField}: file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Reads and checks the TLS options once; `undefined` when there are none. */
export function loadTls(options: VaultTlsOptions | undefined, endpoint: string): TlsMaterial | undefined {
  if (options === undefined) return undefined;
  if (!endpoint.toLowerCase().startsWith('https:')) {
    throw new ConfigError('tls: the endpoint is http://, so TLS options would not be used; use https://');
  }
  const ca = pem(options, 'caFile', 'ca');
  const cert = pem(options, 'certFile', 'cert');
  const key = pem(options, 'keyFile', 'key');
  if (cert !== undefined && key === undefined) {
    throw new ConfigError('tls.certFile: a client certificate needs its private key (tls.keyFile)');
  }
  if (key !== undefined && cert === undefined) {
    throw new ConfigError('tls.keyFile: a private key needs its client certificate (tls.certFile)');
  }
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError('tls.caFile: not a PEM certificate (no BEGIN CERTIFICATE block)');
  }
  const serverName = options.serverName;
  if (
    serverName !== undefined &&
    (typeof serverName !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(serverName))
  ) {
    throw new ConfigError('tls.serverName: must be a host name');
  }
  let secureContext: SecureContext;
  try {
    // OpenSSL's checks (PEM syntax, the key matching the certificate) now, not on the first call.
    secureContext = createSecureContext({
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert, key }),
    });
  } catch (error) {
    // Only the code: OpenSSL's text could quote the material.
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      `tls: the certificates or key cannot be used (${code}): not PEM, an encrypted key, or a key that does not match tls.certFile`,
    );
  } finally {
    key?.fill(0); // OpenSSL holds its own copy
  }
  return { secureContext, ...(serverName === undefined ? {} : { serverName }) };
}
