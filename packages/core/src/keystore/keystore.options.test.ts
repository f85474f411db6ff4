import { describe, expect, it } from 'vitest';
import { isKeystoreError } from '../errors/keystore-error.js';
import { createMemoryProvider } from '../providers/memory/memory-provider.js';
import { Keystore, MAX_PAYLOAD_BYTES } from './keystore.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function keystore() {
  const provider = await createMemoryProvider({ keys: ['app-data', 'billing'] });
  return new Keystore({ provider, defaultKey: 'app-data', allowedKeys: ['billing'] });
}

/** The InvalidArgument a call fails with (sync throw or rejection); its message. */
async function invalidArgument(call: () => unknown): Promise<string> {
  let thrown: unknown;
  try {
    await call();
  } catch (error) {
    thrown = error;
  }
  expect(isKeystoreError(thrown, 'InvalidArgument'), `got ${String(thrown)}`).toBe(true);
  return (thrown as Error).message;
}

describe('Keystore per-call options', () => {
  it('refuses a misspelt option instead of encrypting without it', async () => {
    const ks = await keystore();
    expect(await invalidArgument(() => ks.encrypt('x', { contxt: { table: 'patients' } } as never))).toBe(
      "encrypt: unknown option 'contxt' (known: key, context)",
    );
    expect(await invalidArgument(() => ks.encrypt('x', { keyId: 'billing' } as never))).toBe(
      "encrypt: unknown option 'keyId' (known: key, context)",
    );
  });

  it('refuses a string, an array or null where the options object belongs, without echoing it', async () => {
    const ks = await keystore();
    const message = await invalidArgument(() => ks.encrypt('x', 'billing' as never));
    expect(message).toMatch(
      /^encrypt: options must be a plain object \(known: key, context\), got a string$/,
    );
    expect(message).not.toContain('billing');
    expect(await invalidArgument(() => ks.encrypt('x', ['billing'] as never))).toMatch(/got an array/);
    expect(await invalidArgument(() => ks.encrypt('x', null as never))).toMatch(/got null/);
    expect(await invalidArgument(() => ks.decrypt('ks1.x.y', 'ctx' as never))).toMatch(
      /^decrypt: options must be a plain object/,
    );
  });

  it('checks the type of each option value', async () => {
    const ks = await keystore();
    expect(await invalidArgument(() => ks.encrypt('x', { key: 42 as never }))).toBe(
      "encrypt: option 'key' must be a string, got a number",
    );
    expect(await invalidArgument(() => ks.encrypt('x', { context: 'table=patients' as never }))).toMatch(
      /^encrypt: option 'context' must be a plain object/,
    );
    expect(await invalidArgument(() => ks.decryptMany([], { onProgress: 'log' as never }))).toBe(
      "decryptMany: option 'onProgress' must be a function, got a string",
    );
  });

  it('treats an option set to undefined as absent', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('x', { key: undefined, context: undefined });
    expect(text(await ks.decrypt(envelope, { context: undefined }))).toBe('x');
  });

  it('checks the options of decrypt, reencrypt and the bulk calls', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('x', { context: { a: '1' } });
    expect(await invalidArgument(() => ks.decrypt(envelope, { contxt: { a: '1' } } as never))).toBe(
      "decrypt: unknown option 'contxt' (known: context)",
    );
    expect(await invalidArgument(() => ks.reencrypt(envelope, { key: 'billing' } as never))).toBe(
      "reencrypt: unknown option 'key' (known: context)",
    );
    expect(await invalidArgument(() => ks.decryptMany([envelope], { ttl: 5 } as never))).toBe(
      "decryptMany: unknown option 'ttl' (known: context, onProgress)",
    );
    expect(await invalidArgument(() => ks.reencryptMany([envelope], 'ctx' as never))).toMatch(
      /^reencryptMany: options must be a plain object/,
    );
  });

  it('gives a bulk item with an unknown field or a wrong type its own InvalidArgument', async () => {
    const ks = await keystore();
    const envelope = await ks.encrypt('x', { context: { a: '1' } });
    const results = await ks.decryptMany([
      { envelope, context: { a: '1' } },
      { envelope, contxt: { a: '1' } } as never,
      42 as never,
      { context: { a: '1' } } as never,
    ]);
    expect(results[0]?.ok).toBe(true);
    for (const [i, pattern] of [
      [1, /^decryptMany: items\[1\]: unknown option 'contxt' \(known: envelope, context\)$/],
      [2, /^decryptMany: items\[2\] must be an envelope string or a plain object/],
      [3, /^decryptMany: items\[3\]\.envelope must be a string, got undefined$/],
    ] as const) {
      const result = results[i];
      expect(result?.ok).toBe(false);
      const error = result?.ok === false ? result.error : undefined;
      expect(isKeystoreError(error, 'InvalidArgument')).toBe(true);
      expect(error?.message).toMatch(pattern);
    }
  });
});

describe('Keystore arguments', () => {
  it('names the argument that is not what the method takes', async () => {
    const ks = await keystore();
    expect(await invalidArgument(() => ks.rotate(undefined as never))).toBe(
      'rotate: keyId must be a string, got undefined',
    );
    expect(await invalidArgument(() => ks.createKey(42 as never))).toBe(
      'createKey: keyId must be a string, got a number',
    );
    expect(await invalidArgument(() => ks.listVersions(null as never))).toBe(
      'listVersions: keyId must be a string, got null',
    );
    expect(await invalidArgument(() => ks.reencryptMany('x' as never))).toBe(
      'reencryptMany: items must be an array, got a string',
    );
    expect(await invalidArgument(() => ks.decryptMany(null as never))).toBe(
      'decryptMany: items must be an array, got null',
    );
    expect(await invalidArgument(() => ks.inspect(123 as never))).toBe(
      'inspect: envelope must be a string, got a number',
    );
    expect(await invalidArgument(() => ks.decrypt(42 as never))).toBe(
      'decrypt: envelope must be a string, got a number',
    );
    expect(await invalidArgument(() => ks.reencrypt({} as never))).toBe(
      'reencrypt: envelope must be a string, got an object',
    );
  });

  it('checks createKey options', async () => {
    const ks = await keystore();
    expect(await invalidArgument(() => ks.createKey('billing', { descripton: 'x' } as never))).toBe(
      "createKey: unknown option 'descripton' (known: description, recipient)",
    );
    expect(await invalidArgument(() => ks.createKey('billing', { description: 7 as never }))).toBe(
      "createKey: option 'description' must be a string, got a number",
    );
  });

  it('refuses data that is neither a string nor bytes with InvalidArgument', async () => {
    const ks = await keystore();
    expect(await invalidArgument(() => ks.encrypt(42 as never))).toBe(
      'encrypt: data must be a string or a Uint8Array, got a number',
    );
    expect(await invalidArgument(() => ks.encrypt({ length: 3 } as never))).toMatch(/got an object/);
  });

  it('checks the Keystore options', async () => {
    const provider = await createMemoryProvider({ keys: ['app-data'] });
    expect(await invalidArgument(() => new Keystore({ provider, defaultkey: 'app-data' } as never))).toBe(
      "Keystore: unknown option 'defaultkey' (known: provider, recipients, decryptOrder, defaultKey, allowedKeys, timeoutMs)",
    );
    // A string would be read as its characters: keys 'b', 'i', 'l', ...
    expect(await invalidArgument(() => new Keystore({ provider, allowedKeys: 'billing' as never }))).toBe(
      "Keystore: option 'allowedKeys' must be an array of strings or '*', got a string",
    );
    expect(
      await invalidArgument(
        () => new Keystore({ provider, defaultKey: 'app-data', timeoutMs: '5' as never }),
      ),
    ).toMatch(/^Keystore: option 'timeoutMs' must be a positive number/);
  });
});

describe('Keystore payload limit', () => {
  /** A Uint8Array that claims `byteLength` bytes without holding them. */
  function claiming(byteLength: number): Uint8Array {
    return new Proxy(new Uint8Array(0), {
      get: (target, property) =>
        property === 'byteLength' || property === 'length' ? byteLength : Reflect.get(target, property),
    });
  }

  it('refuses a payload above MAX_PAYLOAD_BYTES before any work, stating the limit', async () => {
    const ks = await keystore();
    // The claimed bytes do not exist: touching them, or asking for a data key first, would fail otherwise.
    expect(await invalidArgument(() => ks.encrypt(claiming(MAX_PAYLOAD_BYTES + 1)))).toBe(
      `encrypt: data is ${MAX_PAYLOAD_BYTES + 1} bytes; one envelope holds at most ${MAX_PAYLOAD_BYTES} bytes (256 MiB)`,
    );
    await ks.close();
    // Closed or not, the size is refused first.
    expect(await invalidArgument(() => ks.encrypt(claiming(2 ** 32)))).toMatch(/at most/);
  });
});
