import { randomBytes } from 'node:crypto';
import { createMemoryProvider, Keystore } from '@keystore/core';
import type { DataKey, GenerateDataKeyInput } from '@keystore/core/provider';
import { describe, expect, it, vi } from 'vitest';
import { keyTag } from '../src/cache/entry-names.js';
import { DataKeyReuse } from '../src/reuse/data-key-reuse.js';
import { cachedOverFake, opaque } from './support/cached.js';
import { FakeRedis } from './support/fake-connection.js';

const context = { table: 'patients', id: '4711' };
const LIMITS = { maxAgeSeconds: 60, maxMessages: 3, maxBytes: 1000 };

/** A generateDataKey that counts its calls and makes a fresh random key each time. */
function maker(keyId = 'k') {
  let calls = 0;
  const make = async (): Promise<DataKey> => {
    calls++;
    return { plaintext: randomBytes(32), wrapped: { keyId, version: 1, ciphertext: randomBytes(48) } };
  };
  return { make, calls: () => calls };
}

const input = (plaintextBytes: number | undefined, extra: Partial<GenerateDataKeyInput> = {}) =>
  ({
    keyId: 'k',
    length: 32,
    context,
    ...(plaintextBytes === undefined ? {} : { plaintextBytes }),
    ...extra,
  }) as GenerateDataKeyInput;

const hex = (key: DataKey) => Buffer.from(key.plaintext).toString('hex');

describe('DataKeyReuse', () => {
  it('sweep zeroes and drops keys past maxAgeSeconds that nobody asked for again', async () => {
    let now = 0;
    const reuse = new DataKeyReuse(LIMITS, () => now);
    const m = maker();
    await reuse.generateDataKey(input(10), m.make);
    now = 30_000;
    await reuse.generateDataKey(input(10, { keyId: 'other' }), m.make);
    const fill = vi.spyOn(Uint8Array.prototype, 'fill');
    try {
      now = 59_999;
      expect(reuse.sweep()).toBe(0);
      now = 60_000;
      expect(reuse.sweep()).toBe(1); // the first; the second is 30 s old
      expect(reuse.size).toBe(1);
      expect(fill.mock.contexts).toEqual([new Uint8Array(32)]);
      now = 90_000;
      expect(reuse.sweep()).toBe(1);
      expect(reuse.size).toBe(0);
    } finally {
      fill.mockRestore();
    }
  });

  it('reuses one data key up to maxMessages, then asks for a new one', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    const m = maker();
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await reuse.generateDataKey(input(10), m.make));
    expect(m.calls()).toBe(2);
    expect(new Set(keys.slice(0, 3).map(hex)).size).toBe(1);
    expect(hex(keys[3] as DataKey)).not.toBe(hex(keys[0] as DataKey));
  });

  it('counts bytes from plaintextBytes: a message that would pass maxBytes gets a new key', async () => {
    const reuse = new DataKeyReuse({ ...LIMITS, maxMessages: 100 });
    const m = maker();
    const a = await reuse.generateDataKey(input(600), m.make);
    const b = await reuse.generateDataKey(input(400), m.make); // 1000: at the limit, still reused
    const c = await reuse.generateDataKey(input(1), m.make); // 1001: over
    expect(m.calls()).toBe(2);
    expect(hex(b)).toBe(hex(a));
    expect(hex(c)).not.toBe(hex(a));
  });

  it('never reuses a key for a message of unknown size or above maxBytes', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    const m = maker();
    await reuse.generateDataKey(input(undefined), m.make);
    await reuse.generateDataKey(input(undefined), m.make);
    await reuse.generateDataKey(input(1001), m.make);
    await reuse.generateDataKey(input(1001), m.make);
    expect(m.calls()).toBe(4);
    expect(reuse.size).toBe(0);
  });

  it('gives up a key once it is maxAgeSeconds old', async () => {
    let now = 0;
    const reuse = new DataKeyReuse({ ...LIMITS, maxMessages: 100 }, () => now);
    const m = maker();
    const a = await reuse.generateDataKey(input(1), m.make);
    now = 59_999;
    expect(hex(await reuse.generateDataKey(input(1), m.make))).toBe(hex(a));
    now = 60_000;
    expect(hex(await reuse.generateDataKey(input(1), m.make))).not.toBe(hex(a));
    expect(m.calls()).toBe(2);
  });

  it('keeps keys apart per key id, context and length', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    const m = maker();
    await reuse.generateDataKey(input(1), m.make);
    await reuse.generateDataKey(input(1, { keyId: 'other' }), m.make);
    await reuse.generateDataKey(input(1, { context: { ...context, id: '4712' } }), m.make);
    await reuse.generateDataKey(input(1, { length: 64 }), m.make);
    expect(m.calls()).toBe(4);
  });

  it('hands out a fresh copy each time: zeroing one leaves the next intact', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    const m = maker();
    const a = await reuse.generateDataKey(input(1), m.make);
    const copy = Buffer.from(a.plaintext);
    a.plaintext.fill(0);
    (a.wrapped.ciphertext as Uint8Array).fill(0);
    const b = await reuse.generateDataKey(input(1), m.make);
    expect(Buffer.from(b.plaintext).equals(copy)).toBe(true);
    expect(b.wrapped.ciphertext.some((x) => x !== 0)).toBe(true);
  });

  it('single flight: concurrent misses make one key, and the limits still hold', async () => {
    const reuse = new DataKeyReuse({ ...LIMITS, maxMessages: 5 });
    const m = maker();
    const keys = await Promise.all(Array.from({ length: 12 }, () => reuse.generateDataKey(input(1), m.make)));
    expect(m.calls()).toBe(3); // 5 + 5 + 2
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(hex(k), (counts.get(hex(k)) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([2, 5, 5]);
  });

  it('a failed provider call fails every waiter and is not remembered', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    let fail = true;
    const m = maker();
    const make = () => (fail ? Promise.reject(new Error('down')) : m.make());
    const results = await Promise.allSettled([
      reuse.generateDataKey(input(1), make),
      reuse.generateDataKey(input(1), make),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await reuse.generateDataKey(input(1), make);
    expect(m.calls()).toBe(1);
  });

  it('dropTag (rotation, deletion) ends reuse of that key id only, also for a key being made', async () => {
    const reuse = new DataKeyReuse(LIMITS);
    const m = maker();
    const k = await reuse.generateDataKey(input(1), m.make);
    const other = await reuse.generateDataKey(input(1, { keyId: 'o' }), maker('o').make);
    reuse.dropTag(keyTag('k'));
    expect(hex(await reuse.generateDataKey(input(1), m.make))).not.toBe(hex(k));
    expect(hex(await reuse.generateDataKey(input(1, { keyId: 'o' }), m.make))).toBe(hex(other));

    // A key the provider made before the drop is used for its own caller's message, never kept.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = async () => {
      await gate;
      return m.make();
    };
    const fresh = new DataKeyReuse(LIMITS);
    const pending = fresh.generateDataKey(input(1), slow);
    fresh.dropTag(keyTag('k'));
    release();
    await pending;
    expect(fresh.size).toBe(1);
  });
});

describe('withRedisCache with dataKeyReuse', () => {
  it('is off by default: every encryption gets a fresh data key', async () => {
    const { provider, calls } = opaque(await createMemoryProvider({ keys: ['k'] }));
    const cached = await cachedOverFake(provider, new FakeRedis());
    const ks = new Keystore({ provider: cached, defaultKey: 'k' });
    for (let i = 0; i < 3; i++) await ks.encrypt('x', { context });
    expect(calls.generateDataKey).toBe(3);
    await cached.close();
  });

  it('reuses within the limits through the keystore; a rotation through the cache ends it', async () => {
    const { provider, calls } = opaque(await createMemoryProvider({ keys: ['k'] }));
    const cached = await cachedOverFake(provider, new FakeRedis(), { dataKeyReuse: LIMITS });
    const ks = new Keystore({ provider: cached, defaultKey: 'k' });
    const envelopes = [];
    for (let i = 0; i < 3; i++) envelopes.push(await ks.encrypt(`message ${i}`, { context }));
    expect(calls.generateDataKey).toBe(1);
    for (let i = 0; i < 3; i++)
      expect(Buffer.from(await ks.decrypt(envelopes[i] as string, { context })).toString()).toBe(
        `message ${i}`,
      );
    await ks.encrypt('x', { context });
    expect(calls.generateDataKey).toBe(2); // maxMessages 3
    await cached.rotateKey?.('k');
    const after = await ks.encrypt('y', { context });
    expect(calls.generateDataKey).toBe(3);
    expect(ks.inspect(after).version).toBe(2);
    await cached.close();
  });

  it('in front of a material store too (data keys computed from cached material)', async () => {
    const inner = await createMemoryProvider({ keys: ['k'] });
    const cached = await cachedOverFake(inner, new FakeRedis(), { dataKeyReuse: LIMITS });
    const ks = new Keystore({ provider: cached, defaultKey: 'k' });
    const a = await ks.encrypt('a', { context });
    const b = await ks.encrypt('b', { context });
    expect(ks.inspect(a).version).toBe(1);
    expect(Buffer.from(await ks.decrypt(b, { context })).toString()).toBe('b');
    await cached.close();
  });
});
