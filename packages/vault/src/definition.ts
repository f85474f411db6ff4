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
import { createVaultProvider } from './provider.js';

/**
 * The `provider` block for type `vault`. Only Transit mode is built so far;
 * `mode: 'kv'` is recognised and refused with a message saying so, so a
 * configuration written for it fails loudly instead of half-working.
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

export const vaultConfigSchema = z
  .object({
    type: z.literal('vault'),
    endpoint: z.url({ protocol: /^https?$/ }),
    mode: z.literal('transit'),
    auth: authSchema,
    mount: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'must be a path of letters, digits and . _ -')
      .refine((m) => !m.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments')
      .optional(),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\/?$/, 'must be a path of letters, digits and . _ -')
      .optional(),
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
  const { mode, auth } = config as { mode?: unknown; auth?: unknown };
  if (mode === 'kv') throw new ConfigError("provider.mode: 'kv' is not available yet; use 'transit'");
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
      auth: authFor(config, context),
      ...(config.mount === undefined ? {} : { mount: config.mount }),
      ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
    });
  },
});
