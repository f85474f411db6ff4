import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, expect, it } from 'vitest';

const redis = await requireService('redis');

describe.skipIf(redis.skip)('examples against test-infra Redis', () => {
  it('redis-cache.mjs: two keystores over one file and one Redis', () => {
    const file = fileURLToPath(new URL('redis-cache.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [file], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, REDIS_URL: redis.env.REDIS_URL },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toContain(
      '1. a encrypts; b decrypts: blood type AB+ (b: 1 Redis hit, 0 loads from the file)',
    );
    expect(out).toContain('2. 1000 more decrypts in b: 1000 from its in-process L1');
    expect(out).toMatch(/3\. a rotates; b encrypts with version 2 \d+ ms later \(pub\/sub\)/);
    expect(out).toContain('4. every value the cache keeps in Redis (some) is a Fernet token: true');
  });

  it('redis-cache.mjs without REDIS_URL says what it needs', () => {
    const file = fileURLToPath(new URL('redis-cache.mjs', import.meta.url));
    const { REDIS_URL: _, ...env } = process.env;
    const result = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000, env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/set REDIS_URL/);
  });
});
