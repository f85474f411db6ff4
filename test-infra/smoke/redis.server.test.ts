import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '../vitest/services.js';

const redis = await requireService('redis');

describe.skipIf(redis.skip)('Redis from test-infra', () => {
  let client: Redis;

  beforeAll(async () => {
    client = new Redis(redis.env.REDIS_URL as string, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.quit();
  });

  it('answers PING', async () => {
    expect(await client.ping()).toBe('PONG');
  });

  it('stores and returns a value (SET/GET with the password)', async () => {
    const key = `smoke:${randomUUID()}`;
    expect(await client.set(key, 'hello', 'EX', 60)).toBe('OK');
    expect(await client.get(key)).toBe('hello');
    await client.del(key);
  });

  it('refuses a client without the password', async () => {
    // A raw RESP exchange: ioredis would hide the server's answer behind its own handshake.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: redis.env.REDIS_HOST, port: Number(redis.env.REDIS_PORT) });
      socket.setTimeout(5_000, () => reject(new Error('no answer')));
      socket.once('error', reject);
      socket.once('data', (data) => {
        resolve(String(data));
        socket.destroy();
      });
      socket.write('GET anything\r\n');
    });
    expect(reply).toMatch(/^-NOAUTH/);
  });
});
