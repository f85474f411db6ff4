import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireService } from '../vitest/services.js';

/** The policy for a missing service: fail in CI, skip (saying why) elsewhere. */
const saved = {
  CI: process.env.CI,
  INFRA_STRICT: process.env.INFRA_STRICT,
  INFRA_ENV_FILE: process.env.INFRA_ENV_FILE,
  KEYSTORE_TEST_PROJECT: process.env.KEYSTORE_TEST_PROJECT,
};
const dir = mkdtempSync(join(tmpdir(), 'infra-policy-'));

// This file tests the policy itself, with fake servers: it runs in the unit project, where
// requireService() otherwise refuses.
beforeEach(() => {
  delete process.env.KEYSTORE_TEST_PROJECT;
});

afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

async function pointRedisAt(port: number): Promise<void> {
  const file = join(dir, `env-${port}`);
  writeFileSync(file, `REDIS_URL=redis://:pw@127.0.0.1:${port}\n`);
  process.env.INFRA_ENV_FILE = file;
}

describe('test-infra service policy', () => {
  it('fails with CI=true when a service does not answer', async () => {
    await pointRedisAt(await closedPort());
    process.env.CI = 'true';
    await expect(requireService('redis')).rejects.toThrow(/redis/i);
  });

  it('skips outside CI, with the reason', async () => {
    await pointRedisAt(await closedPort());
    delete process.env.CI;
    delete process.env.INFRA_STRICT;
    const handle = await requireService('redis');
    expect(handle.skip).toBe(true);
    expect(handle.reason).toMatch(/nothing answers/);
  });

  it('refuses in the unit project: a test that needs a server is named *.server.test.ts', async () => {
    await pointRedisAt(await closedPort());
    delete process.env.CI;
    delete process.env.INFRA_STRICT;
    process.env.KEYSTORE_TEST_PROJECT = 'unit';
    await expect(requireService('redis')).rejects.toThrow(/\.server\.test\.ts/);
  });

  it('is available when something answers', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      await pointRedisAt((server.address() as { port: number }).port);
      process.env.CI = 'true';
      const handle = await requireService('redis');
      expect(handle.available).toBe(true);
      expect(handle.skip).toBe(false);
    } finally {
      await new Promise((done) => server.close(done));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
