import type { Redis } from 'ioredis';

/** Every key under `prefix`, by SCAN (never KEYS: the server may be shared); connects `raw` if it is lazy. */
export async function keysUnder(raw: Redis, prefix: string): Promise<string[]> {
  if (raw.status === 'wait') await raw.connect();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix` (a test run's own). */
export async function deleteUnder(raw: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(raw, prefix);
  for (let i = 0; i < keys.length; i += 500) await raw.del(...keys.slice(i, i + 500));
}
