import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` (a rejection counts as false) until it returns true; how long it took. Throws after `ms`. */
export async function until(what: string, probe: () => Promise<boolean>, ms: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe().catch(() => false)) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}
