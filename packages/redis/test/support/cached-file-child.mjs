// A second process for two-process.server.test.ts: a Keystore over a cached
// file provider (the same keystore file and Redis as the parent's), driven by
// one JSON request a line on stdin, one JSON answer a line on stdout. The
// first line is the setup (the master key travels on stdin, never in argv).
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFileProvider, Keystore } from '@keystore/core';
import { withRedisCache } from '../../dist/index.js';

const now = () => performance.timeOrigin + performance.now();
const lines = createInterface({ input: process.stdin });
let keystore;
let cached;

async function handle(request) {
  switch (request.op) {
    case 'setup': {
      const file = await createFileProvider({
        path: request.path,
        masterKey: Buffer.from(request.masterKey, 'hex'),
      });
      cached = await withRedisCache(file, request.cache);
      while (!cached.stats().connected || !cached.stats().subscribed) await sleep(2);
      keystore = new Keystore({ provider: cached, allowedKeys: '*' });
      return {};
    }
    case 'encrypt': {
      const envelope = await keystore.encrypt(request.plaintext, {
        key: request.key,
        context: request.context,
      });
      return { envelope, version: keystore.inspect(envelope).version };
    }
    case 'decrypt':
      return {
        plaintext: Buffer.from(
          await keystore.decrypt(request.envelope, { context: request.context }),
        ).toString(),
      };
    case 'await-version': {
      // Encrypts every millisecond until an envelope has the version: when this process first used it.
      const until = now() + request.withinMs;
      let tries = 0;
      while (now() < until) {
        tries++;
        const envelope = await keystore.encrypt('probe', { key: request.key, context: request.context });
        if (keystore.inspect(envelope).version === request.version) return { at: now(), tries };
        await sleep(1);
      }
      return { at: null, tries };
    }
    case 'stats':
      return { stats: cached.stats() };
    case 'close':
      await keystore.close();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error('unknown op');
  }
}

lines.on('line', (line) => {
  const request = JSON.parse(line);
  handle(request).then(
    (answer) => process.stdout.write(`${JSON.stringify({ id: request.id, ...answer })}\n`),
    (error) => process.stdout.write(`${JSON.stringify({ id: request.id, error: error?.code ?? 'Error' })}\n`),
  );
});
