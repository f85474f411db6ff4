import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import {
  callDeadline,
  checkTimeLeft,
  DEADLINE_MARGIN_MS,
  runWithDeadline,
  timeLeftMs,
} from './call-deadline.js';
import { guardProvider } from './guard-provider.js';

describe('call deadline', () => {
  it('is seen by everything the call starts, across awaits, and not outside it', async () => {
    expect(callDeadline()).toBeUndefined();
    expect(timeLeftMs()).toBe(Number.POSITIVE_INFINITY);
    expect(() => checkTimeLeft('writing')).not.toThrow();
    const deadline = Date.now() + 10_000;
    const seen = await runWithDeadline(deadline, async () => {
      await sleep(5);
      const inner = await Promise.all(
        [1, 2].map(async () => {
          await sleep(1);
          return callDeadline();
        }),
      );
      return [callDeadline(), ...inner];
    });
    expect(seen).toEqual([deadline, deadline, deadline]);
    expect(callDeadline()).toBeUndefined();
  });

  it('has no time left once within the margin of the deadline', () => {
    const now = Date.now();
    runWithDeadline(now + DEADLINE_MARGIN_MS + 60_000, () => {
      expect(timeLeftMs(now)).toBe(60_000);
      expect(() => checkTimeLeft('writing')).not.toThrow();
    });
    runWithDeadline(now + DEADLINE_MARGIN_MS - 1, () => {
      expect(() => checkTimeLeft('the rename')).toThrow(
        expect.objectContaining({
          code: 'ProviderUnavailable',
          message: expect.stringMatching(/before the rename; nothing was written/),
        }),
      );
    });
  });

  it('is set by guardProvider to the call timeout for every backend call', async () => {
    const memory = await createMemoryProvider({ keys: ['k'] });
    const seen: (number | undefined)[] = [];
    const spy = { ...memory };
    spy.listKeys = async () => {
      seen.push(callDeadline());
      return (await memory.listKeys?.()) ?? [];
    };
    const guarded = guardProvider(spy, { timeoutMs: 4_000 });
    const before = Date.now();
    await guarded.listKeys?.();
    const after = Date.now();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeGreaterThanOrEqual(before + 4_000);
    expect(seen[0]).toBeLessThanOrEqual(after + 4_000);
    await guarded.close();
  });
});
