import { secretRefSchema } from '@keystore/core/provider';
import { z } from 'zod';

/**
 * The connection fields of the `cache` block: where Redis is and how to log
 * in. A password is a secret reference; so is a URL (the usual REDIS_URL
 * carries the password), and a URL written as a plain string must not.
 * Sentinel and Cluster use ioredis's own names for their fields.
 */
const urlSchema = z
  .string()
  .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
  .refine(
    (url) => !/^rediss?:\/\/[^/@]*:[^/@]*@/.test(url),
    'a URL with a password must be a secret reference ({ "env": ... } or { "file": ... }), or the password given as cache.password',
  );

const nodeSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535),
  })
  .strict();

/** TLS for rediss:// or `tls: true`: files read once when the connection is made (a key may be a reference). */
export const tlsSchema = z.union([
  z.literal(true),
  z
    .object({
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      key: secretRefSchema.optional(),
      serverName: z.string().min(1).optional(),
    })
    .strict(),
]);

/** ioredis's Sentinel options: `name` is the master group, `nodes` its `sentinels`. */
const sentinelsSchema = z
  .object({
    name: z.string().min(1),
    nodes: z.array(nodeSchema).min(1),
    username: secretRefSchema.optional(),
    password: secretRefSchema.optional(),
    /** TLS to the sentinels too (ioredis's `enableTLSForSentinelMode`), with the `tls` block's files. */
    tls: z.boolean().optional(),
  })
  .strict();

/**
 * ioredis's Cluster: its start nodes. `scaleReads` is accepted as 'master'
 * only: a read from a replica may return an entry a DEL on the master has
 * already removed (replication lag), a stale key after an invalidation.
 */
const clusterSchema = z
  .object({
    nodes: z.array(nodeSchema).min(1),
    scaleReads: z
      .literal('master', {
        error: "must be 'master': a replica may still hold an entry an invalidation deleted on the master",
      })
      .optional(),
  })
  .strict();

export const connectionFields = {
  url: z.union([urlSchema, secretRefSchema]).optional(),
  username: secretRefSchema.optional(),
  password: secretRefSchema.optional(),
  tls: tlsSchema.optional(),
  db: z.number().int().min(0).max(15).optional(),
  sentinels: sentinelsSchema.optional(),
  cluster: clusterSchema.optional(),
  /** Shown by CLIENT LIST, so an operator can tell this application's connections. */
  clientName: z
    .string()
    .regex(/^[!-~]{1,64}$/, 'must be 1 to 64 printable characters without spaces')
    .optional(),
  /** The most a command may take, whatever the caller's deadline (default DEFAULT_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: z.number().int().min(1).max(60_000).optional(),
  /** The most a (background) connection attempt may take (default DEFAULT_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: z.number().int().min(1).max(60_000).optional(),
} as const;

const connectionSchema = z.object(connectionFields);
export type ConnectionConfig = z.infer<typeof connectionSchema>;

/** Where the connection goes: exactly one of url, sentinels, cluster; db only without cluster. */
export function checkConnectionShape(config: ConnectionConfig, ctx: z.RefinementCtx): void {
  const targets = (['url', 'sentinels', 'cluster'] as const).filter((f) => config[f] !== undefined);
  if (targets.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected url, sentinels or cluster' });
  } else if (targets.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [targets[1] as string],
      message: `only one of url, sentinels and cluster (also given: ${targets[0]})`,
    });
  }
  if (config.cluster !== undefined && config.db !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['db'], message: 'a Redis Cluster has database 0 only' });
  }
}
