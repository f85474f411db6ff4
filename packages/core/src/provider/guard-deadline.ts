import { ProviderUnavailable } from '../errors/keystore-error.js';
import type { CallState } from './call-deadline.js';
import { isBytes } from './guard-checks.js';
import type { DataKey } from './key-provider.js';

/** Zeroes data-key bytes in a result that arrives after its caller gave up waiting. */
export function zeroLate(value: unknown): void {
  if (isBytes(value)) value.fill(0);
  else if (isBytes((value as DataKey | undefined)?.plaintext)) (value as DataKey).plaintext.fill(0);
  else if (Array.isArray(value)) for (const item of value) zeroLate(item);
}

/**
 * deadline: a call that does not answer in time fails with
 * ProviderUnavailable. The call's result, or that error after `ms`. A call
 * that has begun its commit (see `beginCommit`) is not reported as timed out:
 * its real outcome is awaited, for at most another `ms`, after which the
 * error says that the outcome is unknown.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  type: string,
  operation: string,
  state: CallState,
): Promise<T> {
  // One promise settled by whichever comes first, the call or its timer (no race, no finally:
  // this runs on every provider call).
  return new Promise<T>((resolve, reject) => {
    const expire = (graceLeft: boolean) => {
      if (state.committing && graceLeft) {
        timer = setTimeout(() => expire(false), ms);
        timer.unref?.();
        return;
      }
      state.timedOut = true;
      reject(
        new ProviderUnavailable(
          state.committing
            ? `the ${type} provider did not finish ${operation} within ${2 * ms} ms: its write had begun, so it may or may not have happened`
            : `the ${type} provider did not answer ${operation} within ${ms} ms`,
        ),
      );
    };
    let timer = setTimeout(() => expire(true), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        // A backend call cannot be cancelled: if it answers late, no data key of its answer stays in memory.
        if (state.timedOut) zeroLate(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!state.timedOut) reject(error);
      },
    );
  });
}
