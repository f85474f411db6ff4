import { describe, expect, it } from 'vitest';
import { KV_FORMAT, KV_FORMAT_VERSION, parseKvSecret, serializeKvSecret } from '../src/kv/layout.js';
import { checkKvKeyId, isKvMount, isKvPathPrefix, kvPaths } from '../src/kv/paths.js';
import { ESCAPING_KEY_IDS } from './support/key-ids.js';

const material = (byte: number) => new Uint8Array(32).fill(byte);
const key = {
  keyId: 'patients',
  createdAt: '2026-12-01T10:00:00.000Z',
  description: 'records',
  versions: [
    { version: 1, createdAt: '2026-12-01T10:00:00.000Z', state: 'disabled' as const, material: material(1) },
    { version: 2, createdAt: '2026-12-02T10:00:00.000Z', state: 'enabled' as const, material: material(2) },
  ],
};
const good = () =>
  serializeKvSecret(key) as unknown as Record<string, unknown> & { versions: Record<string, unknown>[] };

describe('KV secret layout', () => {
  it('writes the documented fields, material as standard base64, and reads them back', () => {
    const data = good();
    expect(data).toEqual({
      format: KV_FORMAT,
      formatVersion: KV_FORMAT_VERSION,
      keyId: 'patients',
      createdAt: '2026-12-01T10:00:00.000Z',
      description: 'records',
      versions: [
        {
          version: 1,
          createdAt: '2026-12-01T10:00:00.000Z',
          state: 'disabled',
          material: Buffer.from(material(1)).toString('base64'),
        },
        {
          version: 2,
          createdAt: '2026-12-02T10:00:00.000Z',
          state: 'enabled',
          material: Buffer.from(material(2)).toString('base64'),
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data); // plain JSON, as KV stores it
    expect(parseKvSecret('patients', data)).toEqual(key);
    const { description: _, ...bare } = data;
    expect(parseKvSecret('patients', bare)).not.toHaveProperty('description');
  });

  const v0 = (change: Record<string, unknown>) => {
    const data = good();
    return { ...data, versions: [{ ...data.versions[0], ...change }, data.versions[1]] };
  };
  const m = Buffer.from(material(1)).toString('base64');

  it.each([
    ['not an object', null],
    ['an array', []],
    ['a string', 'x'],
    ['another format', { ...good(), format: 'other' }],
    ['no formatVersion', { ...good(), formatVersion: undefined }],
    ['formatVersion 0', { ...good(), formatVersion: 0 }],
    ['formatVersion as text', { ...good(), formatVersion: '1' }],
    ['another key id', { ...good(), keyId: 'billing' }],
    ['an unknown field', { ...good(), extra: true }],
    ['no versions', { ...good(), versions: [] }],
    ['versions not a list', { ...good(), versions: {} }],
    ['versions out of order', { ...good(), versions: [good().versions[1], good().versions[0]] }],
    ['a repeated version', { ...good(), versions: [good().versions[0], good().versions[0]] }],
    ['version 0', v0({ version: 0 })],
    ['a fractional version', v0({ version: 1.5 })],
    ['an unknown state', v0({ state: 'destroyed' })],
    ['a createdAt that is no date', v0({ createdAt: 'yesterday' })],
    ['a missing material', v0({ material: undefined })],
    ['short material', v0({ material: Buffer.from(new Uint8Array(31)).toString('base64') })],
    ['long material', v0({ material: Buffer.from(new Uint8Array(33)).toString('base64') })],
    ['unpadded material', v0({ material: m.slice(0, 43) })],
    [
      'base64url material',
      v0({ material: `${Buffer.from(new Uint8Array(32).fill(0xfb)).toString('base64url')}=` }),
    ],
    ['material with stray low bits', v0({ material: `${m.slice(0, 42)}B=` })],
    ['material as bytes', v0({ material: [...material(1)] })],
    ['an unknown version field', v0({ note: 'x' })],
    ['a description that is not text', { ...good(), description: 7 }],
  ])('%s is Corrupted, naming no value', (_, data) => {
    let thrown: unknown;
    try {
      parseKvSecret('patients', data);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'Corrupted' });
    expect((thrown as Error).message).toMatch(/^vault: the KV secret of key 'patients' is corrupted: /);
    expect((thrown as Error).message).not.toContain(m);
  });

  it('a newer layout version is ConfigError (upgrade), not Corrupted', () => {
    expect(() => parseKvSecret('patients', { ...good(), formatVersion: 2 })).toThrow(
      expect.objectContaining({ code: 'ConfigError', message: expect.stringMatching(/upgrade/) }),
    );
  });

  it('decoded material is memory of its own, not a view of a shared pool', () => {
    const [a, b] = parseKvSecret('patients', good()).versions;
    expect(a?.material.byteLength).toBe(32);
    expect(a?.material.buffer.byteLength).toBe(32);
    expect(a?.material.buffer).not.toBe(b?.material.buffer);
  });
});

describe('KV paths', () => {
  it('builds data, metadata and list paths under the prefix', () => {
    const paths = kvPaths('team/kv', 'apps/billing/');
    expect(paths.data('k-1')).toBe('team/kv/data/apps/billing/k-1');
    expect(paths.metadata('k-1')).toBe('team/kv/metadata/apps/billing/k-1');
    expect(paths.list).toBe('team/kv/metadata/apps/billing/');
  });

  it.each([...ESCAPING_KEY_IDS, 'ä', 7, undefined])('key id %j is InvalidArgument', (keyId) => {
    expect(() => checkKvKeyId(keyId)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => kvPaths('secret', 'keystore/').data(keyId as string)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });

  it('accepts ids with dots that are not . or ..', () => {
    expect(checkKvKeyId('a..b')).toBe('a..b');
    expect(checkKvKeyId('...')).toBe('...');
  });

  it('checks mount and prefix segment by segment', () => {
    for (const ok of ['secret', 'team/kv', 'a.b']) expect(isKvMount(ok)).toBe(true);
    for (const bad of ['', '/secret', 'secret/', 'a/../b', '..', '.', 'a//b', 'a b'])
      expect(isKvMount(bad)).toBe(false);
    for (const ok of ['keystore/', 'apps/billing/', 'a..b/']) expect(isKvPathPrefix(ok)).toBe(true);
    for (const bad of ['', '/', 'keystore', '/keystore/', '../', 'a/../', './', 'a//', 'a b/'])
      expect(isKvPathPrefix(bad)).toBe(false);
    expect(() => kvPaths('secret', '../')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => kvPaths('../sys', 'keystore/')).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
  });
});
