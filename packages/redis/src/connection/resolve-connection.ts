import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type ProviderContext } from '@keystore/core/provider';
import type { ConnectionConfig } from './connection-config.js';
import type { RedisConnectionOptions } from './connection-options.js';

/** A file of the `tls` block, read now; the error names the field and path, never the contents. */
function readTlsFile(file: string, field: string, context: ProviderContext): Buffer {
  const path = isAbsolute(file) ? file : resolve(context.baseDir, file);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `${field}: file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function tlsOptions(
  tls: NonNullable<ConnectionConfig['tls']>,
  prefix: string,
  context: ProviderContext,
): ConnectionOptions {
  if (tls === true) return {};
  const file = (name: 'caFile' | 'certFile' | 'keyFile') => {
    const value = tls[name];
    return value === undefined ? undefined : readTlsFile(value, `${prefix}.tls.${name}`, context);
  };
  const ca = file('caFile');
  const cert = file('certFile');
  const key = tls.key === undefined ? file('keyFile') : context.resolveSecret(tls.key, `${prefix}.tls.key`);
  if (tls.key !== undefined && tls.keyFile !== undefined) {
    throw new ConfigError(`${prefix}.tls: give key or keyFile, not both`);
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(`${prefix}.tls: a client certificate needs its key, and a key its certificate`);
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  };
}

/**
 * ioredis takes a URL's database and credentials over the options given
 * beside it: a `db`, `username` or `password` field would be ignored
 * silently (a rotated password in `password`, the old one in REDIS_URL).
 * Both naming one is refused; the error never repeats the URL.
 */
function checkUrlBesideFields(url: string, config: ConnectionConfig, prefix: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${prefix}.url: not a valid URL`);
  }
  const query = parsed.searchParams;
  if (config.db !== undefined && (parsed.pathname.length > 1 || query.has('db'))) {
    throw new ConfigError(`${prefix}.db: the url names a database too (give it in one place)`);
  }
  const urlAuth =
    parsed.username !== '' || parsed.password !== '' || query.has('username') || query.has('password');
  if (urlAuth && (config.username !== undefined || config.password !== undefined)) {
    throw new ConfigError(
      `${prefix}.url: it carries credentials, and so do username or password (give them in one place)`,
    );
  }
}

/** The connection fields of a parsed `cache` block, secrets resolved and TLS files read. */
export function resolveConnection(
  config: ConnectionConfig,
  context: ProviderContext,
  prefix = 'cache',
): RedisConnectionOptions {
  const secret = (ref: ConnectionConfig['password'], field: string) =>
    ref === undefined ? undefined : context.resolveSecret(ref, `${prefix}.${field}`);
  const url = typeof config.url === 'string' ? config.url : secret(config.url, 'url');
  if (url !== undefined && !/^rediss?:\/\//.test(url)) {
    throw new ConfigError(`${prefix}.url: must be a redis:// or rediss:// URL`);
  }
  if (url !== undefined) checkUrlBesideFields(url, config, prefix);
  const username = secret(config.username, 'username');
  const password = secret(config.password, 'password');
  const { sentinels, cluster } = config;
  const sentinelUsername = secret(sentinels?.username, 'sentinels.username');
  const sentinelPassword = secret(sentinels?.password, 'sentinels.password');
  return {
    ...(url === undefined ? {} : { url }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(config.tls === undefined ? {} : { tls: tlsOptions(config.tls, prefix, context) }),
    ...(config.db === undefined ? {} : { db: config.db }),
    ...(sentinels === undefined
      ? {}
      : {
          sentinels: {
            name: sentinels.name,
            nodes: sentinels.nodes,
            ...(sentinelUsername === undefined ? {} : { username: sentinelUsername }),
            ...(sentinelPassword === undefined ? {} : { password: sentinelPassword }),
            ...(sentinels.tls === undefined ? {} : { tls: sentinels.tls }),
          },
        }),
    ...(cluster === undefined
      ? {}
      : {
          cluster: {
            nodes: cluster.nodes,
            ...(cluster.scaleReads === undefined ? {} : { scaleReads: cluster.scaleReads }),
          },
        }),
    ...(config.clientName === undefined ? {} : { clientName: config.clientName }),
    ...(config.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: config.commandTimeoutMs }),
    ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
  };
}
