import { randomBytes } from 'node:crypto';
import type { UnwrapKeyInput, WrappedKey } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { describe, expect, it } from 'vitest';
import { createVaultProvider, type VaultKeyProvider } from '../src/index.js';
import { ITEMS_PER_REQUEST } from '../src/transit/batch.js';
import { transitKeystore, transitOptions } from './support/server.js';

const vault = await requireService('vault');
const options = transitOptions(vault);
const prefix = `batch-${randomBytes(4).toString('hex')}-`;
let counter = 0;
const newKeyId = () => `${prefix}${++counter}`;
const context = (id: number) => ({ table: 'patients', id: String(id) });

/** `count` data keys under `keyId`, each with the context of its index. */
async function dataKeys(provider: VaultKeyProvider, keyId: string, count: number, from = 0) {
  const out: { plaintext: Uint8Array; input: UnwrapKeyInput }[] = [];
  for (let i = from; i < from + count; i++) {
    const { plaintext, wrapped } = await (provider.generateDataKey?.({
      keyId,
      length: 32,
      context: context(i),
    }) ?? never());
    out.push({ plaintext, input: { ...wrapped, context: context(i) } });
  }
  return out;
}

/** The same ciphertext with its last byte flipped (still Vault's format and version). */
function tampered(input: UnwrapKeyInput): UnwrapKeyInput {
  const text = Buffer.from(input.ciphertext).toString('utf8');
  const [, version, body] = /^vault:(v\d+):(.*)$/.exec(text) ?? never();
  const bytes = Buffer.from(body as string, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  return { ...input, ciphertext: Buffer.from(`vault:${version}:${bytes.toString('base64')}`, 'utf8') };
}

describe.skipIf(vault.skip)('vault transit batches against OpenBao', () => {
  it('declares batch', async () => {
    const provider = await createVaultProvider(options);
    expect(provider.capabilities.batch).toBe(true);
  });

  it('unwrapKeys: a tampered ciphertext, a wrong context and an unknown key fail in their slots only', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await provider.createKey?.(keyId);
    const good = await dataKeys(provider, keyId, 3);
    const [a, b, c] = good as [(typeof good)[0], (typeof good)[0], (typeof good)[0]];
    const unknownKey = { ...a.input, keyId: newKeyId() };
    const results = await (provider.unwrapKeys?.([
      a.input,
      tampered(b.input),
      b.input,
      { ...c.input, context: context(99) },
      unknownKey,
      c.input,
    ]) ?? never());
    expect(results).toHaveLength(6);
    expect(results[0]).toEqual(a.plaintext);
    expect(results[1]).toMatchObject({ code: 'InvalidToken' });
    expect(results[2]).toEqual(b.plaintext);
    expect(results[3]).toMatchObject({ code: 'InvalidToken' });
    expect(results[4]).toMatchObject({ code: 'KeyNotFound' });
    expect(results[5]).toEqual(c.plaintext);
  });

  it('rewrapKeys: the same bad items fail in their slots (rewrap answers 200 with errors inside the items)', async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await provider.createKey?.(keyId);
    const good = await dataKeys(provider, keyId, 3);
    const [a, b, c] = good as [(typeof good)[0], (typeof good)[0], (typeof good)[0]];
    await provider.rotateKey?.(keyId);
    const results = await (provider.rewrapKeys?.([
      a.input,
      tampered(b.input),
      b.input,
      { ...c.input, context: context(99) },
      { ...a.input, keyId: newKeyId() },
      c.input,
    ]) ?? never());
    expect(results).toHaveLength(6);
    expect(results[1]).toMatchObject({ code: 'InvalidToken' });
    expect(results[3]).toMatchObject({ code: 'InvalidToken' });
    expect(results[4]).toMatchObject({ code: 'KeyNotFound' });
    for (const [slot, { plaintext, input }] of [
      [0, a],
      [2, b],
      [5, c],
    ] as const) {
      const wrapped = results[slot] as WrappedKey;
      expect(wrapped).toMatchObject({ keyId, version: 2 });
      expect(await provider.unwrapKey({ ...wrapped, context: input.context })).toEqual(plaintext);
    }
  });

  it('mixed keys in one call: each result in its input slot', async () => {
    const provider = await createVaultProvider(options);
    const keys = [newKeyId(), newKeyId(), newKeyId()];
    for (const k of keys) await provider.createKey?.(k);
    const made = [];
    for (let i = 0; i < 9; i++) made.push(...(await dataKeys(provider, keys[i % 3] as string, 1, i)));
    await provider.rotateKey?.(keys[1] as string);
    const unwrapped = await (provider.unwrapKeys?.(made.map((m) => m.input)) ?? never());
    expect(unwrapped).toEqual(made.map((m) => m.plaintext));
    const rewrapped = (await (provider.rewrapKeys?.(made.map((m) => m.input)) ?? never())) as WrappedKey[];
    expect(rewrapped.map((w) => [w.keyId, w.version])).toEqual(
      made.map((_, i) => [keys[i % 3], i % 3 === 1 ? 2 : 1]),
    );
    const again = await (provider.unwrapKeys?.(rewrapped.map((w, i) => ({ ...w, context: context(i) }))) ??
      never());
    expect(again).toEqual(made.map((m) => m.plaintext));
  });

  it(`a batch larger than one request (${ITEMS_PER_REQUEST} items) succeeds: 600 of one key, directly`, async () => {
    const provider = await createVaultProvider(options);
    const keyId = newKeyId();
    await provider.createKey?.(keyId);
    const [one] = await dataKeys(provider, keyId, 1);
    await provider.rotateKey?.(keyId);
    const inputs = Array.from({ length: 600 }, () => one?.input ?? never());
    const rewrapped = await (provider.rewrapKeys?.(inputs) ?? never());
    expect(rewrapped.filter((r) => r instanceof Error)).toEqual([]);
    expect(new Set(rewrapped.map((r) => (r as WrappedKey).version))).toEqual(new Set([2]));
    const unwrapped = await (provider.unwrapKeys?.(inputs) ?? never());
    expect(
      unwrapped.every((k) => Buffer.from(k as Uint8Array).equals(Buffer.from(one?.plaintext ?? never()))),
    ).toBe(true);
  });

  it('Keystore.reencryptMany of 600 envelopes of one key, one of them tampered', async () => {
    const keyId = newKeyId();
    const keystore = await transitKeystore(options, keyId);
    await keystore.createKey(keyId);
    const envelope = await keystore.encrypt('blood type AB+', { context: { id: '1' } });
    await keystore.rotate(keyId);
    const items: string[] = Array.from({ length: 600 }, () => envelope);
    const other = await keystore.encrypt('blood type 0-', { context: { id: '2' } });
    items[300] = other; // wrong context for this item (the bulk's context is id 1)
    const results = await keystore.reencryptMany(items, { context: { id: '1' } });
    expect(results).toHaveLength(600);
    expect(results[300]).toMatchObject({ ok: false, error: { code: 'InvalidToken' } });
    const ok = results.filter((r, i) => i !== 300 && r.ok);
    expect(ok).toHaveLength(599);
    const first = results[0] as { ok: true; value: string };
    expect(keystore.inspect(first.value)).toMatchObject({ version: 2 });
    expect(new TextDecoder().decode(await keystore.decrypt(first.value, { context: { id: '1' } }))).toBe(
      'blood type AB+',
    );
    await keystore.close();
  });
});

function never(): never {
  throw new Error('capability missing');
}
