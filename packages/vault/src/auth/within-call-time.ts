import { callTimeLeftMs, ProviderUnavailable } from '@keystore/core/provider';

/**
 * A caller's wait for work shared with other callers (a login, a renewal):
 * the shared promise, or ProviderUnavailable once this caller's own deadline
 * has passed. The work itself goes on for the others; a caller never lends
 * its deadline to it (see session.ts). Outside a guarded call it is the
 * shared promise itself.
 */
export function withinCallTime<T>(shared: Promise<T>, what: string): Promise<T> {
  const left = callTimeLeftMs();
  if (left === undefined) return shared;
  const late = () => new ProviderUnavailable(`vault: the call ran out of time waiting for ${what}`);
  if (left <= 0) {
    shared.catch(() => {}); // others may still wait for it; this caller does not
    return Promise.reject(late());
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), left);
    timer.unref();
    shared.then(
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
