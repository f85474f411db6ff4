import { z } from 'zod';
import { ConfigError } from '../errors/keystore-error.js';

/**
 * The configuration: plain, JSON-serialisable data. Provider-specific fields
 * are checked by the provider's own schema once its type is known. Its
 * TypeScript type, with every provider's fields, is `KeystoreConfig`.
 */
export const keystoreConfigSchema = z
  .object({
    provider: z.looseObject({ type: z.string().min(1) }),
    cache: z.looseObject({ type: z.string().min(1) }).optional(),
    defaultKey: z.string().min(1).optional(),
    allowedKeys: z.union([z.literal('*'), z.array(z.string().min(1))]).optional(),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
  })
  .strict();

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
