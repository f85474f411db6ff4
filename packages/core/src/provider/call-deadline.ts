import { AsyncLocalStorage } from 'node:async_hooks';
import { ProviderUnavailable } from '../errors/keystore-error.js';

/**
 * The deadline of the provider call that code runs in. `guardProvider` gives
 * every backend call one (its timeout); a provider that waits or retries
 * (a lock, a CAS loop) reads it, so that it gives up before the keystore
 * reports the call as timed out rather than completing a write after the
 * caller was told it failed. Carried by AsyncLocalStorage: no change to the
 * provider contract, and code outside a guarded call sees none.
 */
const storage = new AsyncLocalStorage<number>();

/** Time kept in reserve before the deadline for the last step of a write (a rename, a response). */
export const DEADLINE_MARGIN_MS = 500;

/** Runs `fn` (and everything asynchronous it starts) under `deadline`, in ms since the epoch. */
export function runWithDeadline<T>(deadline: number, fn: () => T): T {
  return storage.run(deadline, fn);
}

/** The deadline of the guarded call this code runs in (ms since the epoch), or `undefined` outside one. */
export function callDeadline(): number | undefined {
  return storage.getStore();
}

/**
 * Milliseconds left for work that must finish before the last step of a
 * write (the deadline less `DEADLINE_MARGIN_MS`); `Infinity` outside a guarded call.
 */
export function timeLeftMs(now = Date.now()): number {
  const deadline = callDeadline();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - DEADLINE_MARGIN_MS - now;
}

/**
 * Throws `ProviderUnavailable` when the guarded call has no time left for
 * `what` (the point of no return of a write): better to fail having written
 * nothing than to write after the caller was told the call failed.
 */
export function checkTimeLeft(what: string): void {
  if (timeLeftMs() <= 0) {
    throw new ProviderUnavailable(`the call ran out of time before ${what}; nothing was written`);
  }
}
