import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '../../config/config-schema.js';
import { defineProvider } from '../../registry/provider-definition.js';
import { createEnvProvider } from './env-provider.js';

const schema = z
  .object({
    type: z.literal('env'),
    prefix: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name prefix')
      .optional(),
    envFile: z.string().min(1).optional(),
  })
  .strict();

export const envProviderDefinition = defineProvider({
  type: 'env',
  parseConfig: (config) => parseConfig(schema, config, 'provider'),
  create: (config, ctx) =>
    createEnvProvider({
      env: ctx.env,
      ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
      ...(config.envFile === undefined
        ? {}
        : { envFile: isAbsolute(config.envFile) ? config.envFile : resolve(ctx.baseDir, config.envFile) }),
    }),
});
