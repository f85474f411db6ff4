import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PrivateRedis } from './support/private-redis.js';
import { roundTrips, runOptions, untilConnected, writerAndReader } from './support/topology/cached-memory.js';

// Only for the skip: this test starts a redis-server of its own, with an ACL user.
const redis = await requireService('redis');
const options = runOptions();
const USER = 'keystore-cache';
const PASSWORD = 'a password only this test knows';

/*
 * `username` and `password` (as references) and `db` against a real server: a
 * private redis-server with an ACL user of its own and the default user off.
 */
describe.skipIf(redis.skip)('an ACL user and a database other than 0', () => {
  let server: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    server = new PrivateRedis(await freePort());
    await server.start();
    admin = new Redis(server.url);
    await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
    await admin.call('ACL', 'SETUSER', 'admin', 'on', '>admin', '~*', '&*', '+@all');
    await admin.call('AUTH', 'admin', 'admin');
    // The default user off: a connection that does not log in as the ACL user gets nothing done.
    await admin.call('ACL', 'SETUSER', 'default', 'off');
  }, 20_000);

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('username and password as references, db 3: entries land in database 3, a cold wrapper reads them', async () => {
    const env = { KS_REDIS_USER: USER, KS_REDIS_PASSWORD: PASSWORD };
    process.env.KS_REDIS_USER = env.KS_REDIS_USER;
    process.env.KS_REDIS_PASSWORD = env.KS_REDIS_PASSWORD;
    try {
      const o = options({
        url: { value: server.url },
        username: { env: 'KS_REDIS_USER' },
        password: { env: 'KS_REDIS_PASSWORD' },
        db: 3,
        namespace: 'acl',
      });
      const { writer, reader } = await writerAndReader(o);
      await Promise.all([untilConnected(writer), untilConnected(reader)]);
      await roundTrips(writer, reader);
      expect(reader.stats().hits.redis).toBeGreaterThan(0);
      expect(writer.stats().errors + reader.stats().errors).toBe(0);
      const inDb = async (db: number) => {
        await admin.select(db);
        return (await admin.keys(`${o.prefix}acl:*`)).filter((k) => !/:g:\{/.test(k));
      };
      expect((await inDb(3)).length).toBeGreaterThan(0);
      expect(await inDb(0)).toEqual([]);
      await Promise.all([writer.close(), reader.close()]);
    } finally {
      delete process.env.KS_REDIS_USER;
      delete process.env.KS_REDIS_PASSWORD;
    }
  });

  it('a wrong password: never connected, every call answered by the provider, errors counted, nothing in Redis', async () => {
    const o = options({
      url: { value: server.url },
      username: { value: USER },
      password: { value: 'not the password' },
      db: 4,
      namespace: 'wrong',
    });
    const { writer, reader } = await writerAndReader(o);
    await new Promise((r) => setTimeout(r, 300)); // the background logins have been refused by now
    const started = performance.now();
    await roundTrips(writer, reader);
    const ms = performance.now() - started;
    expect(writer.stats().connected).toBe(false);
    expect(writer.stats().redis.connectionErrors).toBeGreaterThan(0);
    expect(writer.stats().errors).toBeGreaterThan(0);
    expect(reader.stats().hits.redis).toBe(0);
    expect(ms).toBeLessThan(2_000);
    await admin.select(4);
    expect(await admin.keys(`${o.prefix}*`)).toEqual([]);
    await Promise.all([writer.close(), reader.close()]);
  });
});
