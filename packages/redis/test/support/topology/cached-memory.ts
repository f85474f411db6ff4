import { randomBytes } from 'node:crypto';
import { createMemoryProvider, Fernet, Keystore } from '@keystore/core';
import { createMaterialProvider, materialStoreOf } from '@keystore/core/provider';
import { type CachedProvider, type WithRedisCacheOptions, withRedisCache } from '../../../src/index.js';

export const context = { table: 'patients', id: '4711' };

/** A run's own prefix and cacheKey: nothing of one run is read by another. */
export function runOptions() {
  const prefix = `kstest:topo:${randomBytes(6).toString('hex')}:`;
  const cacheKey = Fernet.generateKey();
  return (target: Partial<WithRedisCacheOptions>): WithRedisCacheOptions => ({
    cacheKey: { value: cacheKey },
    prefix,
    ttlSeconds: 120,
    l1: { maxEntries: 100, ttlSeconds: 60 },
    ...target,
  });
}

export { untilConnected } from '../until-connected.js';

/**
 * Two wrappers over one memory store: `writer` encrypts (and fills Redis),
 * `reader` has an empty L1, so what it decrypts comes from Redis when the
 * cache works. Returns both, and the envelopes with their plaintexts.
 */
export async function writerAndReader(options: WithRedisCacheOptions) {
  const memory = await createMemoryProvider({ keys: ['patients'] });
  const store = materialStoreOf(memory);
  if (store === undefined) throw new Error('the memory provider has no store');
  const writer = await withRedisCache(memory, options);
  const reader = await withRedisCache(createMaterialProvider(store), options);
  return { writer, reader, store };
}

/** Encrypts `count` messages through `writer`, decrypts them through `reader`, checks each plaintext. */
export async function roundTrips(writer: CachedProvider, reader: CachedProvider, count = 5): Promise<void> {
  const ksW = new Keystore({ provider: writer, allowedKeys: '*' });
  const ksR = new Keystore({ provider: reader, allowedKeys: '*' });
  for (let i = 0; i < count; i++) {
    const plaintext = `record-${i}-${randomBytes(4).toString('hex')}`;
    const envelope = await ksW.encrypt(plaintext, { key: 'patients', context });
    const opened = Buffer.from(await ksR.decrypt(envelope, { context })).toString();
    if (opened !== plaintext) throw new Error('a decrypt returned another plaintext');
  }
}
