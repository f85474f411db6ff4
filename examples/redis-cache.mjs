// A keystore file behind the Redis cache, as two processes of one application would have it:
// the README's "Redis cache" section, runnable. Needs a Redis: REDIS_URL=redis://127.0.0.1:6379
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeystore, Fernet } from '@keystore/core';
import { keystoreCache } from '@keystore/redis';
import { Redis } from 'ioredis';

if (process.env.REDIS_URL === undefined) {
  console.error('set REDIS_URL (redis://127.0.0.1:6379, say) to a Redis this example may write to');
  process.exit(2);
}
const text = (bytes) => new TextDecoder().decode(bytes);
const dir = mkdtempSync(join(tmpdir(), 'keystore-redis-'));
const prefix = `keystore-example-${randomBytes(4).toString('hex')}:`;
// Secrets come from the environment (here made up on the spot): the cache key never comes from Redis.
const env = {
  REDIS_URL: process.env.REDIS_URL,
  KEYSTORE_MASTER_KEY: randomBytes(32).toString('base64'),
  KEYSTORE_CACHE_KEY: Fernet.generateKey(),
};
const config = {
  provider: {
    type: 'file',
    path: join(dir, 'app.keystore.json'),
    masterKey: { env: 'KEYSTORE_MASTER_KEY' },
    create: true,
  },
  defaultKey: 'patients',
  cache: {
    type: 'redis',
    url: { env: 'REDIS_URL' },
    cacheKey: { env: 'KEYSTORE_CACHE_KEY' },
    prefix,
    ttlSeconds: 300,
    l1: { maxEntries: 1000, ttlSeconds: 30 },
  },
};
// createKeystore imports @keystore/redis itself where the package is installed beside @keystore/core;
// in this repository's workspace core is linked from its folder and cannot see it, so it is named here.
const options = { env, caches: { redis: keystoreCache } };
const stats = (keystore) => keystore.cacheStats()[0].stats;
/** The cache connects in the background (a call never waits for Redis): wait for it, for the demo. */
async function connected(keystore) {
  while (!stats(keystore).connected || !stats(keystore).subscribed)
    await new Promise((r) => setTimeout(r, 5));
  return keystore;
}

const raw = new Redis(env.REDIS_URL);
try {
  // Two keystores over one keystore file and one Redis: two processes of the same application.
  const a = await connected(await createKeystore(config, options));
  await a.createKey('patients');
  const b = await connected(await createKeystore(config, options));
  const context = { table: 'patients', id: '4711' };

  const envelope = await a.encrypt('blood type AB+', { context });
  const read = text(await b.decrypt(envelope, { context }));
  const s = stats(b);
  console.log(
    `1. a encrypts; b decrypts: ${read} (b: ${s.hits.redis} Redis hit, ${s.misses} loads from the file)`,
  );

  for (let i = 0; i < 1000; i++) await b.decrypt(envelope, { context });
  console.log(`2. 1000 more decrypts in b: ${stats(b).hits.l1 - s.hits.l1} from its in-process L1`);

  const rotated = performance.now();
  await a.rotate('patients');
  let version = 1;
  while (version !== 2) version = b.inspect(await b.encrypt('x', { context })).version;
  console.log(
    `3. a rotates; b encrypts with version ${version} ${(performance.now() - rotated).toFixed(0)} ms later (pub/sub)`,
  );

  const keys = await raw.keys(`${prefix}*`);
  const values = (await Promise.all(keys.map((k) => raw.get(k)))).filter((v) => !/^\d+$/.test(v));
  const sealed = values.every((v) => v.startsWith('gAAAAA') && !v.includes('AB+'));
  console.log(
    `4. every value the cache keeps in Redis (${values.length > 0 ? 'some' : 'none'}) is a Fernet token: ${sealed}`,
  );
  await Promise.all([a.close(), b.close()]);
} finally {
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
