import { isAbsolute, resolve } from 'node:path';
import { defineProvider, parseConfig, secretRefSchema } from '@keystore/core/provider';
import { z } from 'zod';
import { createBlackboxProvider } from './provider.js';

/**
 * The `provider` block for type `blackbox`. The identity and its passphrase
 * are secret references (`{ "file": "/run/secrets/deploy.asc" }`,
 * `{ "env": "BLACKBOX_PASSPHRASE" }`); a relative `repo` is resolved against
 * the configuration's directory.
 */
export const blackboxConfigSchema = z
  .object({
    type: z.literal('blackbox'),
    repo: z.string().min(1),
    identity: secretRefSchema,
    passphrase: secretRefSchema.optional(),
    keysDir: z.string().min(1).optional(),
    dataDir: z.string().min(1).optional(),
  })
  .strict();

export type BlackboxConfig = z.infer<typeof blackboxConfigSchema>;

declare module '@keystore/core/provider' {
  interface KeystoreProviderConfigs {
    blackbox: Omit<BlackboxConfig, 'type'>;
  }
}

export const keystoreProvider = defineProvider<BlackboxConfig>({
  type: 'blackbox',
  parseConfig: (config) => parseConfig(blackboxConfigSchema, config, 'provider'),
  async create(config, context) {
    const repo = isAbsolute(config.repo) ? config.repo : resolve(context.baseDir, config.repo);
    const identity = context.resolveSecret(config.identity, 'provider.identity');
    const passphrase =
      config.passphrase === undefined
        ? undefined
        : context.resolveSecret(config.passphrase, 'provider.passphrase');
    return createBlackboxProvider({
      repo,
      identity,
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(config.keysDir === undefined ? {} : { keysDir: config.keysDir }),
      ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
    });
  },
});
