import { z } from 'zod';
import { ConfigError } from '../errors/keystore-error.js';

/**
 * The configuration: plain, JSON-serialisable data. Provider-specific fields
 * are checked by the provider's own schema once its type is known. Its
 * TypeScript type, with every provider's fields, is `KeystoreConfig`.
 */
const providerBlock = z.looseObject({ type: z.string().min(1) });
const allowedKeys = z.union([z.literal('*'), z.array(z.string().min(1))]);

/** One recipient of a keystore of several: a name, a provider block, and its key. */
export const recipientConfigSchema = z
  .object({
    name: z.string().min(1),
    provider: providerBlock,
    key: z.string().min(1),
    allowedKeys: allowedKeys.optional(),
  })
  .strict();

export const keystoreConfigSchema = z
  .object({
    provider: providerBlock.optional(),
    recipients: z.array(recipientConfigSchema).min(1).max(16).optional(),
    decryptOrder: z.array(z.string().min(1)).optional(),
    cache: z.looseObject({ type: z.string().min(1) }).optional(),
    defaultKey: z.string().min(1).optional(),
    allowedKeys: allowedKeys.optional(),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    // One provider (with defaultKey, allowedKeys), or several recipients (each with its key).
    if (config.recipients === undefined) {
      if (config.provider === undefined) {
        ctx.addIssue({ code: 'custom', path: ['provider'], message: 'expected object (or recipients)' });
      }
      if (config.decryptOrder !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['decryptOrder'], message: 'goes with recipients' });
      }
      return;
    }
    for (const field of ['provider', 'defaultKey', 'allowedKeys'] as const) {
      if (config[field] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'not with recipients (each recipient names its provider and key)',
        });
      }
    }
  });

/** Parses `value` with `schema`; failures become one ConfigError naming every bad field. */
export function parseConfig<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || 'config'}: ${describeIssue(issue)}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_union':
      return 'is not one of the accepted forms';
    default:
      // zod's messages describe the rule, never the rejected value.
      return issue.message;
  }
}
