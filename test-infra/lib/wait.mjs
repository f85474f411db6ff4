// Bounded waits.
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Seconds to wait for a service to become healthy; INFRA_TIMEOUT_SCALE stretches them all. */
export function timeoutMs(seconds) {
  const scale = Number(process.env.INFRA_TIMEOUT_SCALE || 1);
  return Math.round(seconds * 1000 * (Number.isFinite(scale) && scale > 0 ? scale : 1));
}

/**
 * Calls `probe` until it resolves truthy or `ms` pass. `probe` may throw: the last error is
 * kept as the reason. `alive()` returning false ends the wait early (the process died).
 */
export async function waitFor(probe, { ms, interval = 250, alive = () => true }) {
  const deadline = Date.now() + ms;
  let reason = 'no answer yet';
  for (;;) {
    if (!alive()) return { ok: false, reason: `the process exited (${reason})`, died: true };
    try {
      const result = await probe();
      if (result) return { ok: true, value: result };
    } catch (error) {
      reason = error?.message ?? String(error);
    }
    if (Date.now() >= deadline) return { ok: false, reason: `timed out after ${ms / 1000}s (${reason})` };
    await sleep(interval);
  }
}
