import { describe, expect, it } from 'vitest';
import { EventLoopTurns } from '../src/cache/event-loop-turns.js';

describe('EventLoopTurns', () => {
  it('says a run of answers without I/O needs a turn after maxMs, and the turn lets I/O callbacks in', async () => {
    const turns = new EventLoopTurns(20);
    let heard = false;
    // An I/O-phase callback (as a pub/sub message is) that only a turning loop runs.
    setTimeout(() => {
      heard = true;
    }, 1);
    const started = performance.now();
    let asked = 0;
    // Awaiting resolved promises only: the microtask queue never empties, so the loop does not turn.
    while (!turns.needsTurn()) {
      asked++;
      await Promise.resolve();
      if (performance.now() - started > 2_000) throw new Error('needsTurn never said yes');
    }
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(20);
    expect(asked).toBeGreaterThan(10);
    expect(heard).toBe(false);
    await turns.turn();
    expect(heard).toBe(true);
    // Turned: the next run starts afresh.
    expect(turns.needsTurn()).toBe(false);
  });

  it('never asks for a turn where the loop turns on its own', async () => {
    const turns = new EventLoopTurns(5);
    const started = performance.now();
    while (performance.now() - started < 60) {
      expect(turns.needsTurn()).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
});
