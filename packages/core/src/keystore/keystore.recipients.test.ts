import { describe, expect, it } from 'vitest';
import { memoryOfType, watched } from '../../test/support/recipient-providers.js';
import { envelopeHead, parseEnvelopeParts } from '../envelope/envelope-parts.js';
import { InvalidToken } from '../errors/invalid-token.js';
import { KeyNotFound, ProviderUnavailable } from '../errors/keystore-error.js';
import { NoRecipientOpened } from '../errors/no-recipient-opened.js';
import type { KeyProvider } from '../provider/key-provider.js';
import { Keystore } from './keystore.js';

const CONTEXT = { table: 'patients', id: '42' };
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
/** The payload: everything after the header. */
const payloadOf = (envelope: string) => envelope.slice(envelope.lastIndexOf('.', envelope.length - 1) + 1);

async function setup() {
  const eu = watched(await memoryOfType('memory', ['patients']));
  const us = watched(await memoryOfType('vault', ['patients-us']));
  const glass = watched(await memoryOfType('file', ['break-glass']));
  const ks = new Keystore({
    recipients: [
      { name: 'eu', provider: eu.provider, key: 'patients' },
      { name: 'us', provider: us.provider, key: 'patients-us' },
      { name: 'glass', provider: glass.provider, key: 'break-glass' },
    ],
  });
  /** A keystore of one of the three providers, as a reader holding only that key would configure it. */
  const alone = (provider: KeyProvider, key: string) => new Keystore({ provider, defaultKey: key });
  return { eu, us, glass, ks, alone };
}

describe('a keystore of several recipients', () => {
  it('wraps one data key for every recipient; each alone opens the envelope; inspect lists them', async () => {
    const { eu, us, glass, ks, alone } = await setup();
    const envelope = await ks.encrypt('chart 42', { context: CONTEXT });
    expect(envelope.startsWith('ks2.')).toBe(true);
    expect(ks.inspect(envelope)).toEqual({
      provider: 'memory',
      keyId: 'patients',
      version: 1,
      algorithm: 'fernet',
      format: 2,
      recipients: [
        { provider: 'memory', keyId: 'patients', version: 1 },
        { provider: 'vault', keyId: 'patients-us', version: 1 },
        { provider: 'file', keyId: 'break-glass', version: 1 },
      ],
    });
    for (const [p, key] of [
      [eu.provider, 'patients'],
      [us.provider, 'patients-us'],
      [glass.provider, 'break-glass'],
    ] as const) {
      expect(text(await alone(p, key).decrypt(envelope, { context: CONTEXT }))).toBe('chart 42');
    }
    await expect(ks.decrypt(envelope, { context: { ...CONTEXT, id: '43' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
  });

  it('tries recipients in the configured order, or decryptOrder, and stops at the first that opens', async () => {
    const { eu, us, glass, ks } = await setup();
    const envelope = await ks.encrypt('x');
    await ks.decrypt(envelope);
    expect([eu.calls.unwrap.length, us.calls.unwrap.length, glass.calls.unwrap.length]).toEqual([1, 0, 0]);
    const reversed = new Keystore({
      recipients: [
        { name: 'eu', provider: eu.provider, key: 'patients' },
        { name: 'us', provider: us.provider, key: 'patients-us' },
        { name: 'glass', provider: glass.provider, key: 'break-glass' },
      ],
      decryptOrder: ['glass', 'us', 'eu'],
    });
    await reversed.decrypt(envelope);
    expect([eu.calls.unwrap.length, us.calls.unwrap.length, glass.calls.unwrap.length]).toEqual([1, 0, 1]);
  });

  it('opens the envelope when the first recipients fail, and says for each recipient what it gave when none can', async () => {
    const { eu, us, glass, ks } = await setup();
    const envelope = await ks.encrypt('still readable', { context: CONTEXT });
    eu.calls.failWith = new ProviderUnavailable('eu is down');
    us.calls.failWith = new KeyNotFound('gone');
    expect(text(await ks.decrypt(envelope, { context: CONTEXT }))).toBe('still readable');
    glass.calls.failWith = new KeyNotFound('gone too');
    const error = await ks.decrypt(envelope, { context: CONTEXT }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRecipientOpened);
    // One recipient unreachable: a retry may open it, so the code says so.
    expect(error).toMatchObject({
      code: 'ProviderUnavailable',
      attempts: [
        { recipient: 'eu', provider: 'memory', keyId: 'patients', version: 1, code: 'ProviderUnavailable' },
        { recipient: 'us', provider: 'vault', keyId: 'patients-us', version: 1, code: 'KeyNotFound' },
        { recipient: 'glass', provider: 'file', keyId: 'break-glass', version: 1, code: 'KeyNotFound' },
      ],
    });
    expect((error as Error).message).toBe(
      "no recipient opened the envelope: eu (memory key 'patients' v1): ProviderUnavailable; us (vault key 'patients-us' v1): KeyNotFound; glass (file key 'break-glass' v1): KeyNotFound",
    );
    eu.calls.failWith = new KeyNotFound('gone');
    await expect(ks.decrypt(envelope, { context: CONTEXT })).rejects.toMatchObject({ code: 'KeyNotFound' });
    const many = await ks.decryptMany([envelope, envelope], { context: CONTEXT });
    expect(many.map((r) => !r.ok && (r.error as NoRecipientOpened).attempts.length)).toEqual([3, 3]);
  });

  it('fails to encrypt unless every recipient wrapped the key, naming the one that did not', async () => {
    const { us, ks } = await setup();
    await us.provider.close();
    await expect(ks.encrypt('x')).rejects.toMatchObject({
      code: 'Closed',
      message: expect.stringMatching(/^recipient 'us': /),
    });
  });

  it('refuses an envelope none of whose recipients it has, and keys it does not allow', async () => {
    const { ks } = await setup();
    const stranger = new Keystore({ provider: await memoryOfType('aws-kms', ['k']), defaultKey: 'k' });
    const foreign = await stranger.encrypt('x');
    await expect(ks.decrypt(foreign)).rejects.toMatchObject({ code: 'KeyNotFound' });
    const sameTypes = new Keystore({
      recipients: [
        { name: 'a', provider: await memoryOfType('memory', ['other']), key: 'other' },
        { name: 'b', provider: await memoryOfType('vault', ['other-us']), key: 'other-us' },
      ],
    });
    const envelope = await sameTypes.encrypt('x');
    await expect(ks.decrypt(envelope)).rejects.toMatchObject({ code: 'AccessDenied' });
  });

  it('uses a data key only if the header commits to it, and stops at a payload that does not verify', async () => {
    const { eu, us, glass, ks } = await setup();
    const a = parseEnvelopeParts(await ks.encrypt('first', { context: CONTEXT }));
    const b = parseEnvelopeParts(await ks.encrypt('second', { context: CONTEXT }));
    // The first recipient's wrapped key from another envelope (same context: it unwraps, to another key).
    const spliced =
      envelopeHead({
        algorithm: a.algorithm,
        contextDigest: a.contextDigest,
        commitment: a.commitment as Uint8Array,
        recipients: [b.recipients[0], ...a.recipients.slice(1)] as typeof a.recipients,
      }) + a.payload;
    for (const w of [eu, us, glass]) w.calls.unwrap.length = 0;
    expect(text(await ks.decrypt(spliced, { context: CONTEXT }))).toBe('first');
    expect([eu.calls.unwrap.length, us.calls.unwrap.length]).toEqual([1, 1]);
    // Every recipient's key from the other envelope: each refuses, and the error is the plain, uniform InvalidToken.
    const allSpliced =
      envelopeHead({
        algorithm: a.algorithm,
        contextDigest: a.contextDigest,
        commitment: a.commitment as Uint8Array,
        recipients: b.recipients,
      }) + a.payload;
    const refused = await ks.decrypt(allSpliced, { context: CONTEXT }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidToken);
    expect(refused).not.toHaveProperty('attempts');
    // The right data key, a payload from elsewhere: InvalidToken, and no other recipient is asked.
    const swapped =
      envelopeHead({
        algorithm: a.algorithm,
        contextDigest: a.contextDigest,
        commitment: a.commitment as Uint8Array,
        recipients: a.recipients,
      }) + b.payload;
    for (const w of [eu, us, glass]) w.calls.unwrap.length = 0;
    await expect(ks.decrypt(swapped, { context: CONTEXT })).rejects.toMatchObject({ code: 'InvalidToken' });
    expect([eu.calls.unwrap.length, us.calls.unwrap.length, glass.calls.unwrap.length]).toEqual([1, 0, 0]);
  });

  it('batches bulk decryption per recipient, and sends the rest to the next recipient', async () => {
    const { eu, us, glass, ks } = await setup();
    const envelopes = await Promise.all(Array.from({ length: 20 }, (_, i) => ks.encrypt(`row ${i}`)));
    eu.calls.failWith = new ProviderUnavailable('down');
    const results = await ks.decryptMany(envelopes);
    expect(results.map((r) => r.ok && text(r.value))).toEqual(envelopes.map((_, i) => `row ${i}`));
    expect([eu.calls.batches, us.calls.batches, glass.calls.batches]).toEqual([[20], [20], []]);
  });

  it('re-encrypts every recipient it has to its newest version, keeping the payload', async () => {
    const { eu, glass, ks, alone } = await setup();
    const envelope = await ks.encrypt('moving', { context: CONTEXT });
    await ks.rotate('patients');
    await ks.rotate('break-glass');
    const moved = await ks.reencrypt(envelope, { context: CONTEXT });
    expect(payloadOf(moved)).toBe(payloadOf(envelope));
    expect(ks.inspect(moved).recipients.map((r) => r.version)).toEqual([2, 1, 2]);
    expect(text(await alone(glass.provider, 'break-glass').decrypt(moved, { context: CONTEXT }))).toBe(
      'moving',
    );
    // A keystore holding only one recipient moves that one and keeps the others as they are.
    await ks.rotate('patients');
    const single = alone(eu.provider, 'patients');
    const movedByOne = await single.reencrypt(moved, { context: CONTEXT });
    expect(single.inspect(movedByOne).recipients.map((r) => r.version)).toEqual([3, 1, 2]);
    expect(parseEnvelopeParts(movedByOne).recipients[2]?.wrappedKey).toEqual(
      parseEnvelopeParts(moved).recipients[2]?.wrappedKey,
    );
    const many = await ks.reencryptMany([envelope, moved], { context: CONTEXT });
    expect(many.map((r) => r.ok && ks.inspect(r.value).recipients.map((x) => x.version))).toEqual([
      [3, 1, 2],
      [3, 1, 2],
    ]);
  });
});

describe('adding and removing recipients', () => {
  it('adds a recipient without touching the payload or the other wrapped keys (v1 becomes v2)', async () => {
    const { eu, glass, alone } = await setup();
    const both = new Keystore({
      recipients: [
        { name: 'eu', provider: eu.provider, key: 'patients' },
        { name: 'glass', provider: glass.provider, key: 'break-glass' },
      ],
    });
    const v1 = await alone(eu.provider, 'patients').encrypt('record', { context: CONTEXT });
    expect(v1.startsWith('ks1.')).toBe(true);
    await expect(
      alone(glass.provider, 'break-glass').decrypt(v1, { context: CONTEXT }),
    ).rejects.toMatchObject({
      code: 'KeyNotFound',
    });
    const v2 = await both.addRecipient(v1, 'glass', { context: CONTEXT });
    expect(v2.startsWith('ks2.')).toBe(true);
    expect(payloadOf(v2)).toBe(payloadOf(v1));
    expect(parseEnvelopeParts(v2).recipients[0]?.wrappedKey).toEqual(
      parseEnvelopeParts(v1).recipients[0]?.wrappedKey,
    );
    expect(text(await alone(glass.provider, 'break-glass').decrypt(v2, { context: CONTEXT }))).toBe('record');
    // Adding it again replaces it (one recipient per key).
    expect(both.inspect(await both.addRecipient(v2, 'glass', { context: CONTEXT })).recipients).toHaveLength(
      2,
    );
    const added = await both.addRecipientMany([v1, 'not an envelope'], 'glass', { context: CONTEXT });
    expect(added.map((r) => r.ok)).toEqual([true, false]);
    await expect(both.addRecipient(v1, 'nobody', { context: CONTEXT })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: "addRecipient: no recipient 'nobody' in this keystore (eu, glass)",
    });
    // Wrong context: nothing is unwrapped, nothing is added.
    await expect(both.addRecipient(v1, 'glass', { context: { table: 'other' } })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
  });

  it('removes a recipient only while one left still opens the envelope here; one left is v1', async () => {
    const { eu, us, glass, ks, alone } = await setup();
    const envelope = await ks.encrypt('record', { context: CONTEXT });
    const two = await ks.removeRecipient(envelope, 'us', { context: CONTEXT });
    expect(ks.inspect(two).recipients.map((r) => r.provider)).toEqual(['memory', 'file']);
    expect(payloadOf(two)).toBe(payloadOf(envelope));
    const one = await ks.removeRecipient(
      two,
      { provider: 'memory', keyId: 'patients' },
      { context: CONTEXT },
    );
    expect(one.startsWith('ks1.')).toBe(true);
    expect(text(await alone(glass.provider, 'break-glass').decrypt(one, { context: CONTEXT }))).toBe(
      'record',
    );
    await expect(ks.removeRecipient(one, 'glass', { context: CONTEXT })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: "removeRecipient: that is the envelope's only recipient",
    });
    await expect(ks.removeRecipient(one, 'eu', { context: CONTEXT })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: "removeRecipient: the envelope has no recipient memory key 'patients'",
    });
    // The recipient left cannot open it here (its key is down): refused, nothing written.
    glass.calls.failWith = new ProviderUnavailable('down');
    await expect(ks.removeRecipient(two, 'eu', { context: CONTEXT })).rejects.toMatchObject({
      code: 'ProviderUnavailable',
      message: expect.stringMatching(/^removeRecipient: no recipient left opens the envelope: glass/),
    });
    // A keystore that has only the removed recipient cannot vouch for the others.
    await expect(
      alone(eu.provider, 'patients').removeRecipient(
        envelope,
        { provider: 'memory', keyId: 'patients' },
        { context: CONTEXT },
      ),
    ).rejects.toMatchObject({
      code: 'KeyNotFound',
      message: expect.stringMatching(/^removeRecipient: the recipients left are not this keystore's/),
    });
    const removed = await ks.removeRecipientMany([envelope], 'us', { context: CONTEXT });
    expect(removed[0]?.ok).toBe(true);
    expect(us.calls.unwrap).toEqual([]);
  });
});

describe('two recipients of one provider type', () => {
  /** main and glass are both `memory`; both may use key `x`, each its own (other material). */
  async function overlapping() {
    const main = await memoryOfType('memory', ['k-a', 'x']);
    const glass = await memoryOfType('memory', ['k-b', 'x']);
    const ks = new Keystore({
      recipients: [
        { name: 'main', provider: main, key: 'k-a', allowedKeys: ['x'] },
        { name: 'glass', provider: glass, key: 'k-b', allowedKeys: ['x'] },
      ],
    });
    const glassX = new Keystore({ provider: glass, defaultKey: 'x' });
    return { main, glass, ks, glassX };
  }

  it("re-wraps each entry with the recipient whose backend made it, never another's key of the same id", async () => {
    const { ks, glassX } = await overlapping();
    const v1 = await glassX.encrypt('break-glass copy', { context: CONTEXT });
    // Both recipients allow memory key 'x'; only glass's opens this one.
    const movedV1 = await ks.reencrypt(v1, { context: CONTEXT });
    expect(text(await glassX.decrypt(movedV1, { context: CONTEXT }))).toBe('break-glass copy');
    const v2 = await ks.addRecipient(v1, 'main', { context: CONTEXT });
    await ks.rotate('x', { recipient: 'glass' });
    const moved = await ks.reencrypt(v2, { context: CONTEXT });
    expect(ks.inspect(moved).recipients).toEqual([
      { provider: 'memory', keyId: 'x', version: 2 },
      { provider: 'memory', keyId: 'k-a', version: 1 },
    ]);
    expect(text(await glassX.decrypt(moved, { context: CONTEXT }))).toBe('break-glass copy');
  });

  it('refuses to add a recipient over an entry of the same key id that another backend made', async () => {
    const { ks, glassX } = await overlapping();
    const v1 = await glassX.encrypt('x', { context: CONTEXT });
    await expect(ks.addRecipient(v1, 'main', { context: CONTEXT, key: 'x' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message:
        "addRecipient: the envelope has a recipient memory key 'x' that recipient 'main' does not hold (give each key its own id)",
    });
    // Its own entry may be replaced (a re-wrap).
    expect(
      ks.inspect(await ks.addRecipient(v1, 'glass', { context: CONTEXT, key: 'x' })).recipients,
    ).toHaveLength(1);
  });

  it("refuses a configuration where one recipient allows another's key", async () => {
    const a = await memoryOfType('memory', ['k-a']);
    const b = await memoryOfType('memory', ['k-b']);
    expect(
      () =>
        new Keystore({
          recipients: [
            { name: 'main', provider: a, key: 'k-a', allowedKeys: ['k-*'] },
            { name: 'glass', provider: b, key: 'k-b' },
          ],
        }),
    ).toThrow("recipient 'main' (memory) allows key 'k-b', another recipient's key");
    expect(() => new Keystore({ recipients: [{ name: 'main', provider: a, key: 'bad key' }] })).toThrow(
      'recipients[0].key: not a valid key id',
    );
  });
});

describe('recipients configuration', () => {
  it('refuses duplicate names, a key twice, a bad decryptOrder, and provider with recipients', async () => {
    const a = await memoryOfType('memory', ['k']);
    const b = await memoryOfType('vault', ['k']);
    const bad = (options: object) => () => new Keystore(options as never);
    expect(bad({ recipients: [] })).toThrow(/recipients must be an array of 1 to 16/);
    expect(
      bad({
        recipients: [
          { name: 'x', provider: a, key: 'k' },
          { name: 'x', provider: b, key: 'k' },
        ],
      }),
    ).toThrow("the name 'x' is taken");
    expect(
      bad({
        recipients: [
          { name: 'x', provider: a, key: 'k' },
          { name: 'y', provider: a, key: 'k' },
        ],
      }),
    ).toThrow("memory key 'k' is recipient 'x' already");
    expect(bad({ recipients: [{ name: 'x', provider: a, key: 'k' }], decryptOrder: ['y'] })).toThrow(
      'decryptOrder must name each recipient once (x)',
    );
    expect(bad({ provider: a, defaultKey: 'k', recipients: [{ name: 'x', provider: a, key: 'k' }] })).toThrow(
      'either provider',
    );
    expect(bad({ recipients: [{ name: 'Bad Name', provider: a, key: 'k' }] })).toThrow(/name must be/);
    expect(bad({ recipients: [{ name: 'x', provider: a, key: 'k', extra: 1 }] })).toThrow(
      /unknown option 'extra'/,
    );
  });

  it('routes management calls to the recipient whose key it is', async () => {
    const { ks } = await setup();
    expect((await ks.rotate('patients-us')).keyId).toBe('patients-us');
    expect((await ks.listVersions('patients-us')).map((v) => v.version)).toEqual([1, 2]);
    expect((await ks.listKeys({ recipient: 'glass' })).map((k) => k.keyId)).toEqual(['break-glass']);
    await expect(ks.rotate('nobody-has-it')).rejects.toMatchObject({ code: 'AccessDenied' });
    expect(ks.recipients).toEqual([
      { name: 'eu', provider: 'memory', key: 'patients' },
      { name: 'us', provider: 'vault', key: 'patients-us' },
      { name: 'glass', provider: 'file', key: 'break-glass' },
    ]);
  });
});
