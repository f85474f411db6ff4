/**
 * Test-side view of test-infra: where the servers are, and the policy for a missing one.
 *
 *   const redis = await requireService('redis');
 *   describe.skipIf(redis.skip)('redis provider', () => {
 *     it('...', () => new Redis(redis.env.REDIS_URL));
 *   });
 *
 * Policy: with CI=true (or INFRA_STRICT=1) a missing service FAILS the test file, with a message
 * saying what is missing; elsewhere the tests SKIP and one warning line says why.
 *
 * Values come from test-infra/.env.test (written by `pnpm infra:up`; INFRA_ENV_FILE points
 * elsewhere). A key the file lacks is taken from process.env, so servers of your own work too:
 * export REDIS_URL, VAULT_ADDR + VAULT_TOKEN, KMS_ENDPOINT, or GNUPGHOME.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from '../lib/envfile.mjs';

export type ServiceName = 'redis' | 'vault' | 'kms' | 'gpg';
export type InfraEnv = Record<string, string>;

export interface ServiceHandle {
  name: ServiceName;
  /** The service answered (a TCP connect for servers; gpg runs and GNUPGHOME exists). */
  available: boolean;
  /** True when the tests for it should be skipped (never true in CI: it throws instead). */
  skip: boolean;
  /** Why it is not available; undefined when it is. */
  reason?: string;
  env: InfraEnv;
}

const SERVICE_KEYS: Record<ServiceName, string[]> = {
  redis: ['REDIS_URL'],
  vault: ['VAULT_ADDR', 'VAULT_TOKEN'],
  kms: ['KMS_ENDPOINT'],
  gpg: ['GNUPGHOME'],
};

const KNOWN_KEYS = [
  'INFRA_SERVICES',
  'REDIS_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'REDIS_PASSWORD',
  'VAULT_ADDR',
  'VAULT_TOKEN',
  'VAULT_KV_MOUNT',
  'VAULT_TRANSIT_MOUNT',
  'KMS_IMPL',
  'KMS_ENDPOINT',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'GNUPGHOME',
  'GPG_BIN',
];

/** Path of the env file that `infra:up` writes. */
export function infraEnvFile(): string {
  if (process.env.INFRA_ENV_FILE) return resolve(process.env.INFRA_ENV_FILE);
  return join(dirname(fileURLToPath(import.meta.url)), '..', '.env.test');
}

/** Parses KEY=value lines (values plain, 'single-quoted' or "double-quoted"): the writer's own parser. */
export { parseEnv };

/**
 * The test-infra environment: the env file's values, then any known key the file lacks from
 * process.env, then derived defaults (REDIS_HOST/PORT/PASSWORD from REDIS_URL, region and test
 * credentials for KMS, gpg on PATH).
 */
export function loadInfraEnv(file: string = infraEnvFile()): InfraEnv {
  const env: InfraEnv = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  for (const key of KNOWN_KEYS) {
    const value = process.env[key];
    if (env[key] === undefined && value) env[key] = value;
  }
  if (env.REDIS_URL) {
    const url = new URL(env.REDIS_URL);
    env.REDIS_HOST ??= url.hostname;
    env.REDIS_PORT ??= url.port || '6379';
    env.REDIS_PASSWORD ??= decodeURIComponent(url.password);
  }
  if (env.KMS_ENDPOINT) {
    env.AWS_REGION ??= 'us-east-1';
    env.AWS_ACCESS_KEY_ID ??= 'test';
    env.AWS_SECRET_ACCESS_KEY ??= 'test';
  }
  if (env.VAULT_ADDR) {
    env.VAULT_KV_MOUNT ??= 'secret';
    env.VAULT_TRANSIT_MOUNT ??= 'transit';
  }
  if (env.GNUPGHOME) env.GPG_BIN ??= 'gpg';
  return env;
}

/** Client options for @aws-sdk/client-kms pointed at the test KMS. */
export function kmsClientConfig(env: InfraEnv = loadInfraEnv()) {
  return {
    endpoint: env.KMS_ENDPOINT,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  };
}

/** CI=true (any value but '', '0', 'false'), or INFRA_STRICT=1: a missing service is an error. */
export function isStrict(): boolean {
  const on = (v: string | undefined) =>
    v !== undefined && !['', '0', 'false', 'no'].includes(v.toLowerCase());
  return on(process.env.CI) || on(process.env.INFRA_STRICT);
}

function canConnect(host: string, port: number, ms = 1_500): Promise<string | undefined> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (reason?: string) => {
      socket.destroy();
      done(reason);
    };
    socket.setTimeout(ms, () => finish(`nothing answers on ${host}:${port} (timeout)`));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(`nothing answers on ${host}:${port} (${error.code ?? error.message})`),
    );
    socket.once('connect', () => finish());
  });
}

function hostPort(url: string, fallbackPort: number): [string, number] {
  const u = new URL(url);
  return [u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || fallbackPort)];
}

/** Why `name` is not usable, or undefined when it is. */
export async function probeService(
  name: ServiceName,
  env: InfraEnv = loadInfraEnv(),
): Promise<string | undefined> {
  const missing = SERVICE_KEYS[name].filter((key) => !env[key]);
  if (missing.length) {
    const file = infraEnvFile();
    const where = existsSync(file) ? `not in ${file}` : `no ${file} (test-infra is not up)`;
    return `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set (${where}, nor in the environment)`;
  }
  switch (name) {
    case 'redis':
      return canConnect(...hostPort(env.REDIS_URL as string, 6379));
    case 'vault':
      return canConnect(...hostPort(env.VAULT_ADDR as string, 8200));
    case 'kms':
      return canConnect(...hostPort(env.KMS_ENDPOINT as string, 4566));
    case 'gpg': {
      const home = env.GNUPGHOME as string;
      if (!existsSync(home) || !statSync(home).isDirectory()) return `GNUPGHOME ${home} does not exist`;
      const run = spawnSync(env.GPG_BIN ?? 'gpg', ['--version'], { encoding: 'utf8' });
      if (run.status !== 0) return `${env.GPG_BIN} --version failed: ${run.error?.message ?? run.stderr}`;
      return undefined;
    }
  }
}

const warned = new Set<ServiceName>();

/**
 * Looks the service up and applies the policy: available → { skip: false }; missing in CI
 * (CI=true or INFRA_STRICT=1) → throws, so the test file fails; missing elsewhere → one
 * console.warn line and { skip: true }. Only for files named *.server.test.ts: in the unit
 * project (KEYSTORE_TEST_PROJECT=unit) it throws.
 */
export async function requireService(name: ServiceName): Promise<ServiceHandle> {
  if (process.env.KEYSTORE_TEST_PROJECT === 'unit') {
    // The unit project runs on every Node version in CI, without servers: a test that needs one
    // would fail there, or skip unnoticed locally. Its file name says it needs one instead.
    throw new Error(
      `[test-infra] requireService('${name}') in a unit test file: a test that needs a server goes in a` +
        ' file named *.server.test.ts (the servers project of vitest.config.ts, which starts the servers)',
    );
  }
  const env = loadInfraEnv();
  const reason = await probeService(name, env);
  if (!reason) return { name, available: true, skip: false, env };
  const hint = 'start it with `pnpm infra:up` (see test-infra/README.md)';
  if (isStrict()) {
    const why = process.env.CI ? `CI=${process.env.CI}` : `INFRA_STRICT=${process.env.INFRA_STRICT}`;
    throw new Error(`[test-infra] ${name} is required (${why}) but unavailable: ${reason}; ${hint}`);
  }
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`[test-infra] SKIPPING ${name} tests: ${reason}; ${hint}`);
  }
  return { name, available: false, skip: true, reason, env };
}
