import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/keystore-error.js';

/**
 * A secret in configuration is a reference, so that configuration files can
 * be committed: `{ "env": "NAME" }` (an environment variable) or
 * `{ "file": "path" }` (a file's contents, trailing newline removed).
 * `{ "value": "..." }` is accepted for tests and local experiments.
 */
export const secretRefSchema = z.union([
  z
    .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') })
    .strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ value: z.string().min(1) }).strict(),
]);

export type SecretRef = z.infer<typeof secretRefSchema>;

export interface ResolveContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative file references resolve against this directory (the config file's). */
  readonly baseDir: string;
}

/** The secret's value; a missing variable or unreadable file is a ConfigError naming the field, not the value. */
export function resolveSecret(ref: SecretRef, field: string, ctx: ResolveContext): string {
  if ('value' in ref) return ref.value;
  if ('env' in ref) {
    const value = ctx.env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${field}: environment variable ${ref.env} is not set`);
    }
    return value;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(ctx.baseDir, ref.file);
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(
      `${field}: file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
