import { randomInt } from 'node:crypto';

export const FIRST_RECONNECT_DELAY_MS = 50;
/** A Redis back after an outage is found within about this long (plus up to 20% jitter). */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * ioredis's `retryStrategy`: the delay before reconnect attempt `times`
 * (1, 2, ...), doubling from 50 ms to at most 2 s, with jitter so that many
 * processes do not reconnect in step after a Redis restart. It never gives
 * up (no `null`): the connection keeps trying in the background while calls
 * go to the provider, and no caller ever waits for it.
 */
export function reconnectDelayMs(times: number): number {
  const exponent = Math.min(Math.max(times, 1) - 1, 16);
  const base = Math.min(FIRST_RECONNECT_DELAY_MS * 2 ** exponent, MAX_RECONNECT_DELAY_MS);
  return base + randomInt(Math.floor(base / 5) + 1);
}
