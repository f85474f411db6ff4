import { ProviderUnavailable } from '../../../errors/keystore-error.js';
import { callTimeLeftMs } from '../../../provider/call-deadline.js';

/**
 * Waits for `pending`, but within a guarded call no longer than the time the
 * call has left (`callTimeLeftMs`): then `onGiveUp` runs (so that a shared
 * operation that hangs is not joined by later calls) and the wait fails
 * with `ProviderUnavailable`. `pending` itself cannot be cancelled (a file
 * system call in flight); whoever shares it must not trust it after giving up.
 * Outside a guarded call it is a plain wait.
 */
export function waitWithinCall<T>(pending: Promise<T>, what: string, onGiveUp?: () => void): Promise<T> {
  const left = callTimeLeftMs();
  if (left === undefined) return pending;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        onGiveUp?.();
        reject(new ProviderUnavailable(`the call ran out of time waiting for ${what}`));
      },
      Math.max(0, left),
    );
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
