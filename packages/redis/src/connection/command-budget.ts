import { callTimeLeftMs } from '@keystore/core/provider';

/**
 * Milliseconds one Redis command may take: the connection's cap, or less
 * when the provider call it runs in (core's deadline) has less time left.
 * The cache must leave that time to the provider it fronts, so a command
 * never outlives the call. 0 or less: do not send it.
 */
export function commandBudgetMs(capMs: number): number {
  const left = callTimeLeftMs();
  return left === undefined ? capMs : Math.min(capMs, Math.floor(left));
}
