import { setTimeout as sleep } from 'node:timers/promises';
import type { CachedProvider } from '../../src/index.js';

/**
 * Until the command connection is ready and the invalidation channel
 * subscribed: before, the cache skips Redis (it never waits for it).
 */
export async function untilConnected(provider: CachedProvider, ms = 10_000): Promise<CachedProvider> {
  const started = performance.now();
  while (!provider.stats().connected || !provider.stats().subscribed) {
    if (performance.now() - started > ms) throw new Error(`not connected within ${ms} ms`);
    await sleep(2);
  }
  return provider;
}
