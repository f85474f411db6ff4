import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { Fernet } from '../../ciphers/fernet/fernet.js';
import { Keystore } from '../../keystore/keystore.js';
import { parseDotenv } from './dotenv.js';
import { createEnvProvider } from './env-provider.js';

const k1 = Fernet.generateKey();
const k2 = Fernet.generateKey();
const k3 = Fernet.generateKey();
const raw = (k: string) => new Uint8Array(Buffer.from(k, 'base64url'));

/** A fresh directory for each test, and `.env` in it. */
const tmp = useTempDir('.env');

describe('env provider', () => {
  it('reads versioned variables: KEYSTORE_KEY_<ID>_V<n>', async () => {
    const p = await createEnvProvider({
      env: { KEYSTORE_KEY_APP_DATA_V1: k1, KEYSTORE_KEY_APP_DATA_V2: k2 },
    });
    expect((await p.getKey?.('app-data'))?.material).toEqual(raw(k2));
    expect((await p.getKey?.('app-data', 1))?.material).toEqual(raw(k1));
    expect((await p.listVersions?.('app-data'))?.map((v) => v.version)).toEqual([1, 2]);
    expect((await p.listKeys?.())?.map((k) => k.keyId)).toEqual(['app-data']);
  });

  it('maps key ids to variables one to one', async () => {
    const p = await createEnvProvider({ env: { KEYSTORE_KEY_APP_DATA: k1 } });
    expect((await p.getKey?.('app-data'))?.material).toEqual(raw(k1));
    for (const alias of ['app_data', 'APP-DATA', 'app.data', 'app/data', 'App:Data', 'ſpp-data']) {
      await expect(p.getKey?.(alias), alias).rejects.toMatchObject({ code: 'KeyNotFound' });
    }
    await expect(createEnvProvider({ env: { KEYSTORE_KEY_app: k1 } })).rejects.toMatchObject({
      code: 'ConfigError',
    });
  });

  it('reads several versions from one variable when each is tagged', async () => {
    const p = await createEnvProvider({ env: { KEYSTORE_KEY_BILLING: `v3:${k3},v2:${k2},v1:${k1}` } });
    expect((await p.getKey?.('billing'))?.version).toBe(3);
    expect((await p.getKey?.('billing'))?.material).toEqual(raw(k3));
    expect((await p.getKey?.('billing', 1))?.material).toEqual(raw(k1));
  });

  it('keeps version numbers when the oldest key is retired', async () => {
    const before = await createEnvProvider({ env: { KEYSTORE_KEY_A_V1: k1, KEYSTORE_KEY_A_V2: k2 } });
    const envelope = await new Keystore({ provider: before, defaultKey: 'a' }).encrypt('kept');
    const after = await createEnvProvider({ env: { KEYSTORE_KEY_A_V2: k2, KEYSTORE_KEY_A_V3: k3 } });
    const ks = new Keystore({ provider: after, defaultKey: 'a' });
    expect(new TextDecoder().decode(await ks.decrypt(envelope))).toBe('kept');
    expect(ks.inspect(await ks.encrypt('new')).version).toBe(3);
    const tagged = await createEnvProvider({ env: { KEYSTORE_KEY_A: `v3:${k3},v2:${k2}` } });
    expect(
      new TextDecoder().decode(await new Keystore({ provider: tagged, defaultKey: 'a' }).decrypt(envelope)),
    ).toBe('kept');
  });

  it('reads "newest,older" as MultiFernet takes it: the first key is current, the last is version 1', async () => {
    const p = await createEnvProvider({ env: { KEYSTORE_KEY_A: ` ${k3}, ${k2} ,${k1}` } });
    expect((await p.getKey?.('a'))?.version).toBe(3);
    expect((await p.getKey?.('a'))?.material).toEqual(raw(k3));
    expect((await p.getKey?.('a', 2))?.material).toEqual(raw(k2));
    expect((await p.getKey?.('a', 1))?.material).toEqual(raw(k1));
    expect((await p.listVersions?.('a'))?.map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it('keeps every version when a new key is put in front of "newest,older"', async () => {
    const before = await createEnvProvider({ env: { KEYSTORE_KEY_A: `${k2},${k1}` } });
    const old = new Keystore({ provider: before, defaultKey: 'a' });
    const envelope = await old.encrypt('kept');
    expect(old.inspect(envelope).version).toBe(2);
    const after = await createEnvProvider({ env: { KEYSTORE_KEY_A: `${k3},${k2},${k1}` } });
    const ks = new Keystore({ provider: after, defaultKey: 'a' });
    expect(new TextDecoder().decode(await ks.decrypt(envelope))).toBe('kept');
    expect(ks.inspect(await ks.encrypt('new')).version).toBe(3);
    // One key alone is version 1, so going from one key to "new,old" keeps it too.
    const single = await createEnvProvider({ env: { KEYSTORE_KEY_A: k1 } });
    const first = await new Keystore({ provider: single, defaultKey: 'a' }).encrypt('first');
    expect(new TextDecoder().decode(await ks.decrypt(first))).toBe('first');
  });

  it('refuses a list that mixes tagged and untagged keys, or has an empty entry', async () => {
    for (const [i, value] of [`v2:${k2},${k1}`, `${k2},v1:${k1}`].entries()) {
      const error = await createEnvProvider({ env: { KEYSTORE_KEY_A: value } }).catch((e: unknown) => e);
      expect(error, `mixed list ${i}`).toMatchObject({
        code: 'ConfigError',
        message: expect.stringContaining('KEYSTORE_KEY_A'),
      });
      expect((error as Error).message).not.toContain(k1);
      expect((error as Error).message).not.toContain(k2);
    }
    for (const [i, value] of [`${k2},,${k1}`, `${k2},${k1},`, `,${k1}`].entries()) {
      await expect(
        createEnvProvider({ env: { KEYSTORE_KEY_A: value } }),
        `empty entry ${i}`,
      ).rejects.toMatchObject({
        code: 'ConfigError',
        message: expect.stringContaining('empty'),
      });
    }
    await expect(
      createEnvProvider({ env: { KEYSTORE_KEY_A: `${k2},${k1}`, KEYSTORE_KEY_A_V3: k3 } }),
    ).rejects.toMatchObject({ code: 'ConfigError' });
  });

  it('is read-only and says so', async () => {
    const p = await createEnvProvider({ env: { KEYSTORE_KEY_A: k1 } });
    expect(p.capabilities.rotateKey).toBe(false);
    expect(p.capabilities.createKey).toBe(false);
    const ks = new Keystore({ provider: p, defaultKey: 'a' });
    await expect(ks.rotate('a')).rejects.toMatchObject({ code: 'UnsupportedOperation' });
    expect(new TextDecoder().decode(await ks.decrypt(await ks.encrypt('env')))).toBe('env');
  });

  it('rejects bad values naming the variable, not the value', async () => {
    const bad = 'not-a-fernet-key-at-all';
    await expect(createEnvProvider({ env: { KEYSTORE_KEY_A: bad } })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringContaining('KEYSTORE_KEY_A'),
    });
    await expect(createEnvProvider({ env: { KEYSTORE_KEY_A: bad } })).rejects.not.toMatchObject({
      message: expect.stringContaining(bad),
    });
    await expect(createEnvProvider({ env: { KEYSTORE_KEY_A: ',' } })).rejects.toMatchObject({
      code: 'ConfigError',
    });
    await expect(
      createEnvProvider({ env: { KEYSTORE_KEY_A: k1, KEYSTORE_KEY_A_V1: k2 } }),
    ).rejects.toMatchObject({
      code: 'ConfigError',
    });
  });

  it('reads a .env file, the non-empty environment winning over it', async () => {
    const file = tmp.path;
    writeFileSync(file, `# keys\nexport KEYSTORE_KEY_A="${k1}"\nKEYSTORE_KEY_B='${k2}' # comment\n`);
    const p = await createEnvProvider({ envFile: file, env: { KEYSTORE_KEY_B: k3, KEYSTORE_KEY_A: '' } });
    expect((await p.getKey?.('a'))?.material).toEqual(raw(k1));
    expect((await p.getKey?.('b'))?.material).toEqual(raw(k3));
  });
});

describe('parseDotenv', () => {
  it('parses quotes, escapes, export and comments', () => {
    expect(parseDotenv('A=1\nexport B = two # c\nC="x\\ny"\nD=\'$lit\'\n\n# z', '.env')).toEqual({
      A: '1',
      B: 'two',
      C: 'x\ny',
      D: '$lit',
    });
    expect(parseDotenv(`E='k' # don't\nF="k" # from "old"\nG="a\\"b"`, '.env')).toEqual({
      E: 'k',
      F: 'k',
      G: 'a"b',
    });
    expect(() => parseDotenv('H="abc\\"', '.env')).toThrow(/unterminated/);
  });

  it('refuses a variable defined twice, naming it and both lines but no value', () => {
    const text = `KEYSTORE_KEY_A="${k1}"\nB=1\n\nexport KEYSTORE_KEY_A='${k2}'\n`;
    let message = '';
    try {
      parseDotenv(text, 'app/.env');
    } catch (error) {
      expect((error as { code: string }).code).toBe('ConfigError');
      message = (error as Error).message;
    }
    expect(message).toBe('app/.env: KEYSTORE_KEY_A is defined twice, on lines 1 and 4');
    expect(message).not.toContain(k1);
    expect(message).not.toContain(k2);
  });

  it('refuses a key defined twice in the env file of the provider', async () => {
    const file = tmp.path;
    writeFileSync(file, `KEYSTORE_KEY_A=${k1}\nKEYSTORE_KEY_A=${k2}\n`);
    await expect(createEnvProvider({ envFile: file, env: {} })).rejects.toMatchObject({
      code: 'ConfigError',
      message: expect.stringMatching(/KEYSTORE_KEY_A is defined twice, on lines 1 and 2/),
    });
  });

  it('reports a bad line by number only', () => {
    expect(() => parseDotenv('A=1\nsecret-without-equals', '.env')).toThrow(/line 2/);
    expect(() => parseDotenv('A=1\nsecret-without-equals', '.env')).not.toThrow(/secret/);
  });
});
