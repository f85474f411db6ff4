/**
 * Runs `task` over `items` with at most `limit` in flight and returns one
 * outcome per item, in order: the value, or the Error it failed with. One
 * failure never loses the others' results.
 */
export async function settleLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<(R | Error)[]> {
  const out = new Array<R | Error>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      try {
        out[index] = await task(items[index] as T, index);
      } catch (error) {
        out[index] = error instanceof Error ? error : new Error('non-error thrown');
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
