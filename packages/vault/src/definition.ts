import { isAbsolute, resolve } from 'node:path';
import {
  ConfigError,
  defineProvider,
  type ProviderContext,
  parseConfig,
  secretRefSchema,
} from '@keystore/core/provider';
import { z } from 'zod';
import type { VaultTlsOptions } from './http/tls.js';
import { createVaultProvider } from './provider.js';

/**
 * The `provider` block for type `vault`. Transit and KV modes with token
 * auth are built so far; the other auth methods of the public
 * configuration are recognised and refused with a message saying so, so a
 * configuration written for them fails loudly instead of half-working.
 */
const tokenAuthSchema = z.object({ method: z.literal('token'), token: secretRefSchema }).strict();

/**
 * TLS for an https endpoint: files read once when the provider is created
 * (http/tls.ts). The client key is a file (`keyFile`) or a secret reference
 * (`key`: `{ env }`, `{ file }`), for deployments that hand it over as a secret.
 */
const tlsSchema = z
  .object({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    key: secretRefSchema.optional(),
    serverName: z.string().min(1).optional(),
  })
  .strict();

export const vaultConfigSchema = z
  .object({
    type: z.literal('vault'),
    endpoint: z.url({ protocol: /^https?$/ }),
    mode: z.enum(['transit', 'kv']),
    auth: tokenAuthSchema,
    mount: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'must be a path of letters, digits and . _ -')
      .refine((m) => !m.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments')
      .optional(),
    /** KV mode: the folder of the keys under the mount (kv/paths.ts checks it in full). */
    pathPrefix: z
      .string()
      .regex(/^(?:[A-Za-z0-9_.-]+\/)+$/, "must be segments of letters, digits and . _ -, each ending in '/'")
      .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments')
      .optional(),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\/?$/, 'must be a path of letters, digits and . _ -')
      .optional(),
    tls: tlsSchema.optional(),
  })
  .strict();

export type VaultConfig = z.infer<typeof vaultConfigSchema>;

// `createKeystore({ provider: { type: 'vault', ... } })` type-checks once this package is imported.
declare module '@keystore/core/provider' {
  interface KeystoreProviderConfigs {
    vault: Omit<VaultConfig, 'type'>;
  }
}

function refuseUnbuilt(config: unknown): void {
  if (config === null || typeof config !== 'object') return;
  const { mode, auth, pathPrefix } = config as { mode?: unknown; auth?: unknown; pathPrefix?: unknown };
  if (pathPrefix !== undefined && mode !== 'kv') {
    throw new ConfigError("provider.pathPrefix: only mode 'kv' has a path prefix");
  }
  const method =
    auth !== null && typeof auth === 'object' ? (auth as { method?: unknown }).method : undefined;
  if (method === 'approle' || method === 'kubernetes') {
    throw new ConfigError(`provider.auth.method: '${method}' is not available yet; use 'token'`);
  }
}

/** The `tls` block as createVaultProvider's options: relative paths from the configuration's directory. */
function tlsOptions(tls: NonNullable<VaultConfig['tls']>, context: ProviderContext): VaultTlsOptions {
  const path = (file: string) => (isAbsolute(file) ? file : resolve(context.baseDir, file));
  return {
    ...(tls.caFile === undefined ? {} : { caFile: path(tls.caFile) }),
    ...(tls.certFile === undefined ? {} : { certFile: path(tls.certFile) }),
    ...(tls.keyFile === undefined ? {} : { keyFile: path(tls.keyFile) }),
    ...(tls.key === undefined ? {} : { key: context.resolveSecret(tls.key, 'provider.tls.key') }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
  };
}

export const keystoreProvider = defineProvider<VaultConfig>({
  type: 'vault',
  parseConfig(config) {
    refuseUnbuilt(config);
    return parseConfig(vaultConfigSchema, config, 'provider');
  },
  async create(config, context) {
    return createVaultProvider({
      endpoint: config.endpoint,
      mode: config.mode,
      token: context.resolveSecret(config.auth.token, 'provider.auth.token'),
      ...(config.mount === undefined ? {} : { mount: config.mount }),
      ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      ...(config.pathPrefix === undefined ? {} : { pathPrefix: config.pathPrefix }),
      ...(config.tls === undefined ? {} : { tls: tlsOptions(config.tls, context) }),
    });
  },
});
