import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../envelope/envelope-format.js';
import type { KeystoreError } from '../errors/keystore-error.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { Keystore } from './keystore.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function keystore(allowedKeys?: string[] | '*') {
  const provider = await createMemoryProvider({ keys: ['app-data', 'billing', 'other'] });
  return new Keystore({ provider, defaultKey: 'app-data', ...(allowedKeys ? { allowedKeys } : {}) });
}

describe('Keystore', () => {
  it('round-trips with a context, and the envelope names provider, key and version', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('record 1', { context: { table: 'patients', id: '42' } });
    expect(envelope.startsWith('ks1.')).toBe(true);
    expect(ks.inspect(envelope)).toEqual({
      provider: 'memory',
      keyId: 'app-data',
      version: 1,
      algorithm: 'fernet',
      format: 1,
      recipients: [{ provider: 'memory', keyId: 'app-data', version: 1 }],
    });
    expect(text(await ks.decrypt(envelope, { context: { id: '42', table: 'patients' } }))).toBe('record 1');
  });

  it('is strict about the context: missing, different, extra or reordered values fail', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('x', { context: { a: '1' } });
    await expect(ks.decrypt(envelope)).rejects.toMatchObject({ code: 'InvalidToken' });
    await expect(ks.decrypt(envelope, { context: { a: '2' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(ks.decrypt(envelope, { context: { a: '1', b: '2' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    const noContext = await ks.encrypt('y');
    await expect(ks.decrypt(noContext, { context: { a: '1' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
  });

  it('rejects reserved context keys and non-string values', async () => {
    const ks = await keystore();
    await expect(ks.encrypt('x', { context: { 'keystore:alg': 'none' } })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(ks.encrypt('x', { context: { n: 1 as unknown as string } })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  it('fails every tampered envelope loudly: InvalidToken for the crypto, typed errors for a renamed key', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('tamper me', { context: { a: '1' } });
    const [prefix, header, payload] = envelope.split('.') as [string, string, string];
    const bytes = Buffer.from(header, 'base64url');
    // Header layout: 1 + 'memory' (6) + 2 + 'app-data' (8) + version (4) + alg (1) + digest (32) + 2 + wrapped.
    const keyIdStart = 9;
    const versionStart = keyIdStart + 8;
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] ?? 0) ^ mask;
        const code = await ks
          .decrypt(`${prefix}.${copy.toString('base64url')}.${payload}`, { context: { a: '1' } })
          .then(
            () => 'no error',
            (error: KeystoreError) => error.code,
          );
        if (i >= 1 && i < 7 && mask === 0x01) {
          // Another provider type ('memory' -> 'lemory'): named in a KeyNotFound.
          expect(code, `byte ${i}`).toBe('KeyNotFound');
        } else if (i >= keyIdStart && i < keyIdStart + 8 && mask === 0x01) {
          // A renamed key: the policy refuses it, or the parser refuses a character no key id has.
          const renamed = String.fromCharCode(('app-data'.charCodeAt(i - keyIdStart) ^ 1) & 0x7f);
          expect(code, `byte ${i}`).toBe(
            /[\p{L}\p{N}._:/@+=-]/u.test(renamed) ? 'AccessDenied' : 'InvalidToken',
          );
        } else if (i >= versionStart && i < versionStart + 4 && mask === 0x01 && i === versionStart + 3) {
          // Version 1 -> 0 is malformed.
          expect(code, `byte ${i}`).toBe('InvalidToken');
        } else if (i >= versionStart && i < versionStart + 4) {
          // A version that does not exist.
          expect(code, `byte ${i}`).toBe('KeyNotFound');
        } else {
          expect(code, `byte ${i} mask ${mask}`).toBe('InvalidToken');
        }
      }
    }
    await expect(
      ks.decrypt(`${prefix}.${header}A.${payload}`, { context: { a: '1' } }),
    ).rejects.toMatchObject({ code: 'InvalidToken' });
    await expect(
      ks.decrypt(`${prefix}.${header}.${payload.slice(0, -4)}`, { context: { a: '1' } }),
    ).rejects.toMatchObject({ code: 'InvalidToken' });
    await expect(ks.decrypt(`${prefix}.${header.slice(0, -2)}.${payload}`)).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(ks.decrypt('ks1.')).rejects.toMatchObject({ code: 'InvalidToken' });
    await expect(ks.decrypt('not an envelope')).rejects.toMatchObject({ code: 'InvalidToken' });
    // Not a string at all is the caller's mistake, not a bad ciphertext (keystore.options.test.ts).
    await expect(ks.decrypt(42 as unknown as string)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('binds contexts exactly: __proto__ keys, lone surrogates and non-plain objects', async () => {
    const ks = await keystore();
    const proto = JSON.parse('{"__proto__":"tenant-A"}') as Record<string, string>;
    const envelope = await ks.encrypt('x', { context: proto });
    await expect(ks.decrypt(envelope)).rejects.toMatchObject({ code: 'InvalidToken' });
    await expect(
      ks.decrypt(envelope, { context: JSON.parse('{"__proto__":"tenant-B"}') }),
    ).rejects.toMatchObject({ code: 'InvalidToken' });
    expect(text(await ks.decrypt(envelope, { context: JSON.parse('{"__proto__":"tenant-A"}') }))).toBe('x');
    await expect(ks.encrypt('x', { context: { user: '\uD800' } })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(ks.encrypt('x', { context: new Map([['a', '1']]) as never })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    const full = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
    expect(text(await ks.decrypt(await ks.encrypt('64', { context: full }), { context: full }))).toBe('64');
  });

  it('does not unwrap a data key moved to another key or version', async () => {
    const ks = await keystore('*');
    const a = parseEnvelope(await ks.encrypt('a'));
    const b = await ks.encrypt('b', { key: 'billing' });
    const [, , payload] = b.split('.') as [string, string, string];
    const { formatEnvelope } = await import('../envelope/envelope-format.js');
    const swapped = formatEnvelope({ ...a.header, keyId: 'billing' }, payload);
    await expect(ks.decrypt(swapped)).rejects.toMatchObject({ code: 'InvalidToken' });
    await ks.rotate('app-data');
    const bumped = formatEnvelope({ ...a.header, version: 2 }, a.payload);
    await expect(ks.decrypt(bumped)).rejects.toMatchObject({ code: 'InvalidToken' });
    expect(text(await ks.decrypt(formatEnvelope(a.header, a.payload)))).toBe('a');
  });

  it('never unwraps under a key the configuration does not allow', async () => {
    const provider = await createMemoryProvider({ keys: ['app-data', 'billing', 'other'] });
    const open = new Keystore({ provider, allowedKeys: '*' });
    const envelope = await open.encrypt('x', { key: 'other' });
    const strict = new Keystore({ provider, defaultKey: 'app-data', allowedKeys: ['billing'] });
    await expect(strict.decrypt(envelope)).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(strict.encrypt('x', { key: 'other' })).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(strict.listVersions('other')).rejects.toMatchObject({ code: 'AccessDenied' });
    expect((await strict.listKeys()).map((k) => k.keyId)).toEqual(['app-data', 'billing']);
    const prefixed = new Keystore({ provider, allowedKeys: ['oth*'] });
    expect(text(await prefixed.decrypt(envelope))).toBe('x');
    // defaultKey is an exact id, never a pattern.
    expect(() => new Keystore({ provider, defaultKey: '*' })).toThrow(
      expect.objectContaining({ code: 'ConfigError' }),
    );
    expect(() => new Keystore({ provider, allowedKeys: ['*x*'] })).toThrow(
      expect.objectContaining({ code: 'ConfigError' }),
    );
  });

  it('refuses an envelope made by another provider type, naming both', async () => {
    const ks = await keystore();
    const envelope = parseEnvelope(await ks.encrypt('x'));
    const { formatEnvelope } = await import('../envelope/envelope-format.js');
    const foreign = formatEnvelope({ ...envelope.header, provider: 'vault' }, envelope.payload);
    await expect(ks.decrypt(foreign)).rejects.toMatchObject({
      code: 'KeyNotFound',
      message: expect.stringContaining("'vault'"),
    });
  });

  it('rotates: new envelopes use the newest version, old ones still decrypt, reencrypt moves them', async () => {
    const ks = await keystore();
    const v1 = await ks.encrypt('old record', { context: { t: 'x' } });
    expect((await ks.rotate('app-data')).latestVersion).toBe(2);
    const v2 = await ks.encrypt('new record');
    expect(ks.inspect(v2).version).toBe(2);
    expect(text(await ks.decrypt(v1, { context: { t: 'x' } }))).toBe('old record');
    const moved = await ks.reencrypt(v1, { context: { t: 'x' } });
    expect(ks.inspect(moved).version).toBe(2);
    expect(moved.split('.')[2]).toBe(v1.split('.')[2]);
    expect(text(await ks.decrypt(moved, { context: { t: 'x' } }))).toBe('old record');
    await expect(ks.reencrypt(v1)).rejects.toMatchObject({ code: 'InvalidToken' });
  });

  it('needs a default key or an allowed list, and a key to encrypt with', async () => {
    const provider = await createMemoryProvider();
    expect(() => new Keystore({ provider })).toThrow(expect.objectContaining({ code: 'ConfigError' }));
    const ks = new Keystore({ provider, allowedKeys: '*' });
    await expect(ks.encrypt('x')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(ks.encrypt('x', { key: 'missing' })).rejects.toMatchObject({ code: 'KeyNotFound' });
  });

  it('closes idempotently; afterwards operations fail with Closed', async () => {
    const ks = await keystore();
    await ks.close();
    await ks.close();
    await expect(ks.encrypt('x')).rejects.toMatchObject({ code: 'Closed' });
  });
});

describe('Keystore bulk operations', () => {
  it('re-encrypts many envelopes, keeping each failure in its own slot', async () => {
    const ks = await keystore();
    const envelopes = await Promise.all(
      Array.from({ length: 1_100 }, (_, i) => ks.encrypt(`record ${i}`, { context: { i: String(i) } })),
    );
    await ks.rotate('app-data');
    const progress: number[] = [];
    const items = envelopes.map((envelope, i) => ({ envelope, context: { i: String(i) } }));
    items[7] = { envelope: envelopes[7] as string, context: { i: 'wrong' } };
    items[8] = { envelope: 'garbage', context: { i: '8' } };
    const results = await ks.reencryptMany(items, { onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([500, 1000, 1100]);
    expect(results.filter((r) => r.ok)).toHaveLength(1_098);
    expect(results[7]).toMatchObject({ ok: false, error: { code: 'InvalidToken' } });
    expect(results[8]).toMatchObject({ ok: false, error: { code: 'InvalidToken' } });
    const moved = results[42];
    if (!moved?.ok) throw new Error('item 42 failed');
    expect(ks.inspect(moved.value).version).toBe(2);
    const decrypted = await ks.decryptMany(
      results.map((r, i) => ({ envelope: r.ok ? r.value : 'x', context: { i: String(i) } })),
    );
    expect(decrypted.filter((r) => r.ok)).toHaveLength(1_098);
    const sample = decrypted[1_099];
    expect(sample?.ok && text(sample.value)).toBe('record 1099');
  });
});

/** A copy of the envelope with one character of its payload changed (the MAC no longer matches). */
function corruptPayload(envelope: string): string {
  const at = envelope.lastIndexOf('.') + 30;
  const replacement = envelope[at] === 'A' ? 'B' : 'A';
  return `${envelope.slice(0, at)}${replacement}${envelope.slice(at + 1)}`;
}

describe('Keystore re-encryption checks the payload where the data key is at hand', () => {
  it('reencrypt refuses a corrupted payload instead of giving it a fresh envelope', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('row 1', { context: { t: 'x' } });
    await ks.rotate('app-data');
    await expect(ks.reencrypt(corruptPayload(envelope), { context: { t: 'x' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    expect(ks.inspect(await ks.reencrypt(envelope, { context: { t: 'x' } })).version).toBe(2);
  });

  it('reencryptMany fails a corrupted row in its own slot and moves the others', async () => {
    const ks = await keystore();
    const envelopes = await Promise.all([0, 1, 2, 3].map((i) => ks.encrypt(`row ${i}`)));
    await ks.rotate('app-data');
    envelopes[2] = corruptPayload(envelopes[2] as string);
    const results = await ks.reencryptMany(envelopes);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'InvalidToken' } });
    for (const r of results) if (r.ok) expect(ks.inspect(r.value).version).toBe(2);
  });

  it('leaves a server-side re-wrap to the provider: the data key is not unwrapped for it', async () => {
    const memory = await createMemoryProvider({ keys: ['app-data'] });
    const calls = { unwrap: 0, rewrap: 0 };
    const provider: KeyProvider = {
      specificationVersion: memory.specificationVersion,
      type: 'memory',
      capabilities: {
        generateDataKey: false,
        rewrapKey: true,
        batch: false,
        getKey: false,
        createKey: false,
        importKey: false,
        listKeys: false,
        listVersions: false,
        rotateKey: true,
        deleteKey: false,
      },
      wrapKey: (input) => memory.wrapKey(input),
      unwrapKey: (input) => {
        calls.unwrap++;
        return memory.unwrapKey(input);
      },
      async rewrapKey(input) {
        calls.rewrap++;
        const key = await memory.unwrapKey(input);
        return memory.wrapKey({ keyId: input.keyId, plaintext: key, context: input.context });
      },
      rotateKey: (id) => (memory.rotateKey as NonNullable<KeyProvider['rotateKey']>)(id),
      close: () => memory.close(),
    };
    const ks = new Keystore({ provider, defaultKey: 'app-data' });
    const envelope = await ks.encrypt('row');
    await ks.rotate('app-data');
    const moved = await ks.reencrypt(envelope);
    const many = await ks.reencryptMany([envelope, envelope]);
    expect(calls).toEqual({ unwrap: 0, rewrap: 3 });
    expect(ks.inspect(moved).version).toBe(2);
    expect(many.every((r) => r.ok)).toBe(true);
    // The payload is carried over unread: a non-canonical spelling of it is refused before the backend sees it.
    const variant = envelope.replace(/=+$/, ''); // a 3-byte payload's token ends in '=='
    expect(variant).not.toBe(envelope);
    await expect(ks.reencrypt(variant)).rejects.toMatchObject({ code: 'InvalidToken' });
    const mixed = await ks.reencryptMany([variant, envelope]);
    expect(mixed.map((r) => r.ok)).toEqual([false, true]);
    expect(mixed[0]).toMatchObject({ ok: false, error: { code: 'InvalidToken' } });
    expect(calls).toEqual({ unwrap: 0, rewrap: 4 });
  });
});
