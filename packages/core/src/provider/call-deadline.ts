import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { ProviderUnavailable } from '../errors/keystore-error.js';

/**
 * The deadline of the provider call that code runs in, and its point of no
 * return. `guardProvider` gives every backend call one (its timeout). A
 * provider that waits (a lock, retries) bounds its waits by the time left;
 * a provider that writes calls `beginCommit()` right before the step that
 * makes the write happen (a rename, the request that changes the backend).
 *
 * The guard and the provider agree through this one object, so a call has
 * exactly one outcome: either `beginCommit()` throws because the call already
 * timed out (or has no time left) and nothing is written, or the commit
 * started and the guard waits for its real result instead of reporting a
 * timeout. Time is monotonic (`performance.now()`), so a wall-clock step
 * cannot stretch it. Carried by AsyncLocalStorage: no change to the provider
 * contract, and code outside a guarded call sees none.
 */
export interface CallState {
  /** Monotonic ms (`performance.now()`) when the call times out. */
  readonly deadline: number;
  /** Time kept before the deadline for the commit itself. */
  readonly margin: number;
  /** Set by the guard when it has reported the call as timed out. */
  timedOut: boolean;
  /** Set by `beginCommit`: from here on the guard waits for the real outcome. */
  committing: boolean;
  /** The state of an enclosing guarded call (a guarded provider inside another). */
  readonly parent: CallState | undefined;
}

const storage = new AsyncLocalStorage<CallState>();

/** At most this much of a call's time is kept in reserve for its commit. */
export const MAX_COMMIT_MARGIN_MS = 500;

const now = (): number => performance.now();

/** A state for a call of `timeoutMs` starting now, inside the current call if there is one. */
export function newCallState(timeoutMs: number): CallState {
  return {
    deadline: now() + timeoutMs,
    margin: Math.min(MAX_COMMIT_MARGIN_MS, timeoutMs / 10),
    timedOut: false,
    committing: false,
    parent: storage.getStore(),
  };
}

/** Runs `fn` (and everything asynchronous it starts) as the call `state`. */
export function runInCall<T>(state: CallState, fn: () => T): T {
  return storage.run(state, fn);
}

function* chain(state: CallState | undefined): Generator<CallState> {
  for (let s = state; s !== undefined; s = s.parent) yield s;
}

/**
 * Milliseconds the current guarded call (and every call enclosing it) has
 * left before its commit must start; `undefined` outside a guarded call.
 * A provider bounds its waits (locks, retries, HTTP timeouts) by it.
 */
export function callTimeLeftMs(): number | undefined {
  const state = storage.getStore();
  if (state === undefined) return undefined;
  let left = Number.POSITIVE_INFINITY;
  const t = now();
  for (const s of chain(state)) left = Math.min(left, s.timedOut ? 0 : s.deadline - s.margin - t);
  return left;
}

/**
 * Marks the point of no return of a write: call it synchronously right
 * before the step that makes the write happen. Throws `ProviderUnavailable`
 * (nothing may be written) when the call was already reported as timed out
 * or has no time left; otherwise the guard waits for this call's real result
 * even past its timeout. Outside a guarded call it does nothing.
 */
export function beginCommit(what: string): void {
  const state = storage.getStore();
  if (state === undefined) return;
  const left = callTimeLeftMs() ?? Number.POSITIVE_INFINITY;
  if (left <= 0) {
    throw new ProviderUnavailable(`the call ran out of time before ${what}; nothing was written`);
  }
  for (const s of chain(state)) s.committing = true;
}
