import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';

/** The redis-server test-infra installs (Debian's package): REDIS_SERVER_BIN, else the one on PATH. */
export function redisServerBinary(): string {
  return process.env.REDIS_SERVER_BIN ?? execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim();
}

/** redis-cli next to it (Debian ships both in redis-tools/redis-server), else the one on PATH. */
export function redisCliBinary(): string {
  const server = process.env.REDIS_SERVER_BIN;
  if (server !== undefined) return join(dirname(server), 'redis-cli');
  return execFileSync('which', ['redis-cli'], { encoding: 'utf8' }).trim();
}
