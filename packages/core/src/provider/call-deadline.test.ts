import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { beginCommit, callTimeLeftMs, newCallState, runInCall } from './call-deadline.js';
import { guardProvider } from './guard-provider.js';

describe('call state', () => {
  it('is seen by everything the call starts, across awaits, and not outside it', async () => {
    expect(callTimeLeftMs()).toBeUndefined();
    expect(() => beginCommit('writing')).not.toThrow();
    const state = newCallState(10_000);
    const seen = await runInCall(state, async () => {
      await sleep(5);
      const inner = await Promise.all(
        [1, 2].map(async () => {
          await sleep(1);
          return callTimeLeftMs();
        }),
      );
      return [callTimeLeftMs(), ...inner];
    });
    for (const left of seen) {
      // 10 s less the commit margin (500 ms) less the few ms spent.
      expect(left).toBeGreaterThan(9_000);
      expect(left).toBeLessThanOrEqual(9_500);
    }
    expect(callTimeLeftMs()).toBeUndefined();
  });

  it('keeps a tenth of a short timeout for the commit, and the earlier deadline of nested calls', () => {
    const outer = newCallState(1_000);
    runInCall(outer, () => {
      expect(callTimeLeftMs()).toBeLessThanOrEqual(900);
      const inner = newCallState(60_000);
      runInCall(inner, () => {
        expect(callTimeLeftMs()).toBeLessThanOrEqual(900);
        beginCommit('writing');
      });
    });
    // A commit marks every enclosing call.
    expect(outer.committing).toBe(true);
  });

  it('refuses to begin a commit once the call timed out, or its time is up', () => {
    const late = newCallState(1_000);
    late.timedOut = true;
    expect(() => runInCall(late, () => beginCommit('the rename'))).toThrow(
      expect.objectContaining({
        code: 'ProviderUnavailable',
        message: 'the call ran out of time before the rename; nothing was written',
      }),
    );
    expect(late.committing).toBe(false);
    const spent = newCallState(0);
    expect(() => runInCall(spent, () => beginCommit('the rename'))).toThrow(/nothing was written/);
  });
});

describe('guardProvider and the commit point', () => {
  /** A memory provider whose listKeys stands in for a write with `steps`. */
  async function providerWith(steps: () => Promise<void>) {
    const memory = await createMemoryProvider({ keys: ['k'] });
    return {
      ...memory,
      listKeys: async () => {
        await steps();
        return (await memory.listKeys?.()) ?? [];
      },
    };
  }

  it('a write that reaches its commit after the timeout is refused: the caller is told, nothing is written', async () => {
    let wrote = false;
    const guarded = guardProvider(
      await providerWith(async () => {
        await sleep(150);
        beginCommit('the write');
        wrote = true;
      }),
      { timeoutMs: 50 },
    );
    await expect(guarded.listKeys?.()).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(/did not answer listKeys within 50 ms/),
    });
    await sleep(200);
    expect(wrote).toBe(false);
    await guarded.close();
  });

  it('a write past its commit point is waited for, not reported as timed out', async () => {
    let wrote = false;
    const guarded = guardProvider(
      await providerWith(async () => {
        beginCommit('the write');
        await sleep(150);
        wrote = true;
      }),
      { timeoutMs: 100 },
    );
    expect((await guarded.listKeys?.())?.map((k) => k.keyId)).toEqual(['k']);
    expect(wrote).toBe(true);
    await guarded.close();
  });

  it('a commit that never finishes ends, after twice the timeout, with an error saying the outcome is unknown', async () => {
    const guarded = guardProvider(
      await providerWith(async () => {
        beginCommit('the write');
        await sleep(1_000);
      }),
      { timeoutMs: 60 },
    );
    await expect(guarded.listKeys?.()).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(
        /within 120 ms: its write had begun, so it may or may not have happened/,
      ),
    });
    await guarded.close().catch(() => {});
  });
});
