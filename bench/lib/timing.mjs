// Timing for bench/run.mjs: time-boxed rounds of batched operations, the clock read between batches.

import v8 from 'node:v8';
import vm from 'node:vm';

/** Read the clock about every 5 ms inside a round, not after every operation. */
const BATCH_SECONDS = 0.005;

// A clean heap before each timed round, so one contender's garbage is not collected on
// another's time (the root script runs plain `node bench/run.mjs`, hence the flag at run time).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const now = () => process.hrtime.bigint();
const seconds = (from, to) => Number(to - from) / 1e9;

/**
 * Runs `op` (one operation, synchronous) in batches until `budget` seconds have passed;
 * at least one batch. Returns operations per second over the time actually spent.
 */
function timeSync(op, budget, batch) {
  let ops = 0;
  const start = now();
  let end = start;
  do {
    for (let i = 0; i < batch; i++) op();
    ops += batch;
    end = now();
  } while (seconds(start, end) < budget);
  const elapsed = seconds(start, end);
  return { rate: ops / elapsed, ops, elapsed };
}

/**
 * The same for an async `op`: each operation is awaited before the next starts (one at a time,
 * as a caller awaiting each record would), the clock read between batches.
 */
async function timeAsync(op, budget, batch) {
  let ops = 0;
  const start = now();
  let end = start;
  do {
    for (let i = 0; i < batch; i++) await op();
    ops += batch;
    end = now();
  } while (seconds(start, end) < budget);
  const elapsed = seconds(start, end);
  return { rate: ops / elapsed, ops, elapsed };
}

/** Warm-up fixes the batch size (about BATCH_SECONDS of operations), then time-boxed rounds. */
function runner(time, op) {
  let batch = 1;
  return {
    async warmup(budget) {
      const r = await time(op, budget, 1);
      batch = Math.max(1, Math.floor((BATCH_SECONDS * r.ops) / r.elapsed));
      return r;
    },
    async round(budget) {
      gc();
      return time(op, budget, batch);
    },
  };
}

/** A synchronous contender. */
export const syncRunner = (op) => runner(timeSync, op);

/** An async contender: `op` returns a promise, awaited one at a time. */
export const asyncRunner = (op) => runner(timeAsync, op);
