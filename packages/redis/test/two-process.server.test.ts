import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createFileProvider, Fernet, Keystore } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { withRedisCache } from '../src/index.js';

/*
 * Two processes over one keystore file and one Redis: this one rotates, a
 * child Node process (test/support/cached-file-child.mjs, over the built
 * dist: run `pnpm build` first) must encrypt with the new version within the
 * README's bound. Pub/sub up, that bound is the message's arrival; the
 * worst case, a missed message, is the L1 ttl (60 s here), so anything near
 * it would mean the message did not work.
 */
const redis = await requireService('redis');
const url = redis.env.REDIS_URL ?? '';
const prefix = `kstest:${randomBytes(6).toString('hex')}:`;
const dir = mkdtempSync(join(tmpdir(), 'kstest-rconf-2p-'));
const ROTATIONS = 5;
const L1_TTL_SECONDS = 60;

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (redis.skip) return;
  const raw = new Redis(url);
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

/** The child process, one request at a time over its stdin and stdout. */
function child() {
  const script = fileURLToPath(new URL('./support/cached-file-child.mjs', import.meta.url));
  const proc = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const answer = JSON.parse(line) as Record<string, unknown>;
    waiting.get(answer.id as number)?.(answer);
  });
  let id = 0;
  const ask = (request: Record<string, unknown>): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const n = ++id;
      waiting.set(n, (answer) =>
        answer.error === undefined ? resolve(answer) : reject(new Error(String(answer.error))),
      );
      proc.stdin.write(`${JSON.stringify({ id: n, ...request })}\n`);
    });
  return { proc, ask };
}

const now = () => performance.timeOrigin + performance.now();

describe.skipIf(redis.skip)('two processes over one keystore file and one Redis', () => {
  it('rotate here: the child process encrypts with the new version once the message arrives', {
    timeout: 30_000,
  }, async () => {
    const path = join(dir, 'shared.keystore.json');
    const masterKey = randomBytes(32);
    const cache = {
      url: { value: url },
      cacheKey: { value: Fernet.generateKey() },
      prefix,
      namespace: 'file',
      ttlSeconds: 120,
      l1: { maxEntries: 100, ttlSeconds: L1_TTL_SECONDS },
    };
    const file = await createFileProvider({ path, masterKey, create: true });
    await file.createKey?.('patients');
    const here = await withRedisCache(file, cache);
    while (!here.stats().connected || !here.stats().subscribed) await sleep(2);
    const keystore = new Keystore({ provider: here, allowedKeys: '*' });
    const { proc, ask } = child();
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const context = { table: 'patients' };
    try {
      await ask({ op: 'setup', path, masterKey: masterKey.toString('hex'), cache });
      const first = await ask({ op: 'encrypt', key: 'patients', plaintext: 'v1', context });
      expect(first.version).toBe(1); // the child's L1 now holds version 1 for 60 s

      const latencies: number[] = [];
      for (let version = 2; version <= ROTATIONS + 1; version++) {
        // The child starts polling before the rotation, so it reports the first envelope of the new version.
        const seen = ask({ op: 'await-version', key: 'patients', version, context, withinMs: 5_000 });
        await sleep(20);
        await keystore.rotate('patients');
        const rotated = now();
        const { at, tries } = await seen;
        expect(at, `version ${version} not used by the child within 5 s (${tries} tries)`).not.toBeNull();
        latencies.push((at as number) - rotated);
      }
      // Well within the bound: the message, not the L1 ttl.
      for (const ms of latencies) expect(ms).toBeLessThan(1_000);
      const { stats } = (await ask({ op: 'stats' })) as {
        stats: { invalidations: number; hits: { l1: number } };
      };
      expect(stats.invalidations).toBe(ROTATIONS);
      expect(stats.hits.l1).toBeGreaterThan(0); // between rotations the child did use its L1

      // Each side decrypts the other's envelope of the newest version, and the oldest.
      const mine = await keystore.encrypt('from parent', { key: 'patients', context });
      expect(keystore.inspect(mine).version).toBe(ROTATIONS + 1);
      expect((await ask({ op: 'decrypt', envelope: mine, context })).plaintext).toBe('from parent');
      const theirs = await ask({ op: 'encrypt', key: 'patients', plaintext: 'from child', context });
      expect(theirs.version).toBe(ROTATIONS + 1);
      for (const [envelope, plaintext] of [
        [theirs.envelope, 'from child'],
        [first.envelope, 'v1'],
      ] as const) {
        expect(Buffer.from(await keystore.decrypt(envelope as string, { context })).toString()).toBe(
          plaintext,
        );
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      console.info(
        `two processes: the child used the new version ${sorted.map((ms) => ms.toFixed(1)).join(', ')} ms after rotate returned (${ROTATIONS} rotations; L1 ttl ${L1_TTL_SECONDS} s)`,
      );
      await ask({ op: 'close' });
      await exited;
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await keystore.close();
    }
  });
});
