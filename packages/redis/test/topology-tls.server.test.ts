import { readFileSync } from 'node:fs';
import { createKeystore } from '@keystore/core';
import { requireService } from '@keystore/test-infra/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoreCache } from '../src/index.js';
import { freePort } from './support/private-redis.js';
import {
  context,
  roundTrips,
  runOptions,
  untilConnected,
  writerAndReader,
} from './support/topology/cached-memory.js';
import { makeTestPki, type TestPki } from './support/topology/certs.js';
import { ServerProcess } from './support/topology/server-process.js';

// Only for the skip: these tests start redis-servers of their own, with TLS.
const redis = await requireService('redis');
const options = runOptions();

/** A TLS-only redis-server (`--port 0`): plain TCP is not even listened on. */
function tlsServer(pki: TestPki, port: number, authClients: boolean) {
  return new ServerProcess(`tls redis ${port}`, port, [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${pki.serverCertFile}`,
    `tls-key-file ${pki.serverKeyFile}`,
    `tls-ca-cert-file ${pki.caFile}`,
    `tls-auth-clients ${authClients ? 'yes' : 'no'}`,
  ]);
}

describe.skipIf(redis.skip)('TLS against a TLS-only redis-server', () => {
  let pkiHolder: ServerProcess;
  let pki: TestPki;
  let server: ServerProcess;
  let mutual: ServerProcess;

  beforeAll(async () => {
    // A stopped process owning a temp dir: the PKI lives there and goes with it.
    pkiHolder = new ServerProcess('pki', 0, []);
    pki = makeTestPki(pkiHolder.dir);
    server = tlsServer(pki, await freePort(), false);
    mutual = tlsServer(pki, await freePort(), true);
    await Promise.all([server.start(), mutual.start()]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([server?.dispose(), mutual?.dispose(), pkiHolder?.dispose()]);
  });

  it('rediss:// with tls.caFile: caching works (a cold wrapper reads Redis)', async () => {
    const o = options({
      url: { value: `rediss://127.0.0.1:${server.port}` },
      tls: { caFile: pki.caFile },
      namespace: 'rediss',
    });
    const { writer, reader } = await writerAndReader(o);
    await Promise.all([untilConnected(writer), untilConnected(reader)]);
    await roundTrips(writer, reader);
    expect(reader.stats().hits.redis).toBeGreaterThan(0);
    expect(reader.stats().errors).toBe(0);
    expect(writer.stats().errors).toBe(0);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('redis:// with tls: { caFile } is TLS too (the tls block turns it on)', async () => {
    const o = options({
      url: { value: `redis://127.0.0.1:${server.port}` },
      tls: { caFile: pki.caFile },
      namespace: 'redis-tls',
    });
    const { writer, reader } = await writerAndReader(o);
    await Promise.all([untilConnected(writer), untilConnected(reader)]);
    await roundTrips(writer, reader);
    expect(reader.stats().hits.redis).toBeGreaterThan(0);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('a CA that did not sign the server: fails open, errors counted, every call fast, never connected', async () => {
    // The other CA; `tls: true` (the system's CAs); rediss:// alone (the same).
    for (const tls of [{ caFile: pki.otherCaFile }, true as const, undefined]) {
      const url = { value: `rediss://127.0.0.1:${server.port}` };
      const o = options({ url, ...(tls === undefined ? {} : { tls }), namespace: 'wrong-ca' });
      const { writer, reader } = await writerAndReader(o);
      await new Promise((r) => setTimeout(r, 300)); // a handshake or two has been refused by now
      const started = performance.now();
      await roundTrips(writer, reader);
      const ms = performance.now() - started;
      console.info(
        `[tls] wrong CA (${tls === undefined ? 'rediss:// alone' : tls === true ? 'tls: true' : 'other CA'}): 5 round trips in ${ms.toFixed(1)} ms`,
      );
      expect(ms).toBeLessThan(1_000);
      for (const p of [writer, reader]) {
        expect(p.stats().connected).toBe(false);
        expect(p.stats().errors).toBeGreaterThan(0);
        expect(p.stats().redis.connectionErrors).toBeGreaterThan(0);
        expect(p.stats().hits.redis).toBe(0);
      }
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('tls-auth-clients yes: works with a client certificate (certFile, keyFile), fails open without', async () => {
    const url = { value: `rediss://127.0.0.1:${mutual.port}` };
    const withCert = options({
      url,
      tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      namespace: 'mutual',
    });
    const { writer, reader } = await writerAndReader(withCert);
    await Promise.all([untilConnected(writer), untilConnected(reader)]);
    await roundTrips(writer, reader);
    expect(reader.stats().hits.redis).toBeGreaterThan(0);
    await Promise.all([writer.close(), reader.close()]);

    // The key as a secret reference (`key`) rather than a file works the same.
    const keyRef = options({
      url,
      tls: {
        caFile: pki.caFile,
        certFile: pki.clientCertFile,
        key: { value: readFileSync(pki.clientKeyFile, 'utf8') },
      },
      namespace: 'mutual-ref',
    });
    const pair = await writerAndReader(keyRef);
    await Promise.all([untilConnected(pair.writer), untilConnected(pair.reader)]);
    await roundTrips(pair.writer, pair.reader);
    expect(pair.reader.stats().hits.redis).toBeGreaterThan(0);
    await Promise.all([pair.writer.close(), pair.reader.close()]);

    const noCert = await writerAndReader(options({ url, tls: { caFile: pki.caFile }, namespace: 'no-cert' }));
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await roundTrips(noCert.writer, noCert.reader);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(noCert.reader.stats().connected).toBe(false);
    expect(noCert.reader.stats().errors).toBeGreaterThan(0);
    await Promise.all([noCert.writer.close(), noCert.reader.close()]);
  });

  it('through the cache block of createKeystore: entries land in the TLS Redis', async () => {
    const o = options({});
    const keystore = await createKeystore(
      {
        provider: { type: 'memory', keys: ['patients'] },
        defaultKey: 'patients',
        cache: {
          type: 'redis',
          url: { value: `rediss://127.0.0.1:${server.port}` },
          tls: { caFile: pki.caFile },
          cacheKey: o.cacheKey,
          prefix: o.prefix,
        },
      },
      { caches: { redis: keystoreCache } },
    );
    const probe = new Redis(server.port, '127.0.0.1', { tls: { ca: readFileSync(pki.caFile) } });
    try {
      const started = performance.now();
      let keys: string[] = [];
      // The cache connects in the background and skips Redis until then: retry until an entry is there.
      while (keys.length === 0 && performance.now() - started < 5_000) {
        const envelope = await keystore.encrypt('AB+', { context });
        expect(Buffer.from(await keystore.decrypt(envelope, { context })).toString()).toBe('AB+');
        // Entries (m:, d:), not the generation counters (g:, plain numbers).
        keys = (await probe.keys(`${o.prefix}*`)).filter((k) => !/:g:\{/.test(k));
        if (keys.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(keys.length).toBeGreaterThan(0);
      expect(await probe.get(keys[0] as string)).toMatch(/^gAAAAA/);
    } finally {
      probe.disconnect();
      await keystore.close();
    }
  });
});
