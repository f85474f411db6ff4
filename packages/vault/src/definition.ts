import { isAbsolute, resolve } from 'node:path';
import {
  ConfigError,
  defineProvider,
  type ProviderContext,
  parseConfig,
  secretRefSchema,
} from '@keystore/core/provider';
import { z } from 'zod';
import { DEFAULT_KUBERNETES_JWT_FILE, jwtFromFile, type VaultAuth } from './auth/index.js';
import type { VaultTlsOptions } from './http/tls.js';
import { createVaultProvider } from './provider.js';

/**
 * The `provider` block for type `vault`: Transit or KV mode, token, AppRole
 * or Kubernetes auth, TLS. Secrets are references, resolved at creation.
 */
const authMount = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'must be a path of letters, digits and . _ -')
  .refine((m) => !m.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments');

const tokenAuthSchema = z.object({ method: z.literal('token'), token: secretRefSchema }).strict();
const appRoleAuthSchema = z
  .object({
    method: z.literal('approle'),
    roleId: secretRefSchema,
    secretId: secretRefSchema,
    mount: authMount.optional(),
  })
  .strict();
const kubernetesAuthSchema = z
  .object({
    method: z.literal('kubernetes'),
    role: z.string().min(1),
    /** A path (relative to the configuration file); default DEFAULT_KUBERNETES_JWT_FILE. */
    jwtFile: z.string().min(1).optional(),
    mount: authMount.optional(),
  })
  .strict();
const authSchema = z.discriminatedUnion('method', [tokenAuthSchema, appRoleAuthSchema, kubernetesAuthSchema]);

/** The fields each method needs, so a missing one is named rather than 'not one of the accepted forms'. */
const REQUIRED_AUTH_FIELDS: Record<string, readonly string[]> = {
  token: ['token'],
  approle: ['roleId', 'secretId'],
  kubernetes: ['role'],
};

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
    auth: authSchema,
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

function checkShape(config: unknown): void {
  if (config === null || typeof config !== 'object') return;
  const { mode, auth, pathPrefix } = config as { mode?: unknown; auth?: unknown; pathPrefix?: unknown };
  if (pathPrefix !== undefined && mode !== 'kv') {
    throw new ConfigError("provider.pathPrefix: only mode 'kv' has a path prefix");
  }
  if (auth === null || typeof auth !== 'object') return;
  const method = (auth as { method?: unknown }).method;
  if (typeof method !== 'string' || !Object.hasOwn(REQUIRED_AUTH_FIELDS, method)) {
    throw new ConfigError("provider.auth.method: must be 'token', 'approle' or 'kubernetes'");
  }
  const missing = (REQUIRED_AUTH_FIELDS[method] ?? []).filter((f) => !Object.hasOwn(auth, f));
  if (missing.length > 0) {
    throw new ConfigError(
      `provider.auth: method '${method}' needs ${missing.map((f) => `'${f}'`).join(' and ')}` +
        (method === 'kubernetes' ? '' : ' (secret references: { "env": ... } or { "file": ... })'),
    );
  }
}

function authFor(config: VaultConfig, context: ProviderContext): VaultAuth {
  const { auth } = config;
  switch (auth.method) {
    case 'token':
      return { method: 'token', token: context.resolveSecret(auth.token, 'provider.auth.token') };
    case 'approle':
      return {
        method: 'approle',
        roleId: context.resolveSecret(auth.roleId, 'provider.auth.roleId'),
        secretId: context.resolveSecret(auth.secretId, 'provider.auth.secretId'),
        ...(auth.mount === undefined ? {} : { mount: auth.mount }),
      };
    case 'kubernetes': {
      const file = auth.jwtFile ?? DEFAULT_KUBERNETES_JWT_FILE;
      return {
        method: 'kubernetes',
        role: auth.role,
        jwt: jwtFromFile(isAbsolute(file) ? file : resolve(context.baseDir, file)),
        ...(auth.mount === undefined ? {} : { mount: auth.mount }),
      };
    }
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
    checkShape(config);
    return parseConfig(vaultConfigSchema, config, 'provider');
  },
  async create(config, context) {
    return createVaultProvider({
      endpoint: config.endpoint,
      mode: config.mode,
      auth: authFor(config, context),
      ...(config.mount === undefined ? {} : { mount: config.mount }),
      ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      ...(config.pathPrefix === undefined ? {} : { pathPrefix: config.pathPrefix }),
      ...(config.tls === undefined ? {} : { tls: tlsOptions(config.tls, context) }),
    });
  },
});
