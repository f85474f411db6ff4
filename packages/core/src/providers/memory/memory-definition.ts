import { z } from 'zod';
import { parseConfig } from '../../config/config-schema.js';
import { defineProvider } from '../../registry/provider-definition.js';
import { createMemoryProvider } from './memory-provider.js';

const schema = z
  .object({
    type: z.literal('memory'),
    /** Keys created at start. */
    keys: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const memoryProviderDefinition = defineProvider({
  type: 'memory',
  parseConfig: (config) => parseConfig(schema, config, 'provider'),
  create: (config) => createMemoryProvider({ keys: config.keys ?? [] }),
});
