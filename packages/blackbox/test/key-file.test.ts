import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isKeystoreError, type StoredKey } from '@keystore/core/provider';
import { describe, expect, it } from 'vitest';
import { parseKeyFile, serializeKeyFile } from '../src/format/key-file.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const options = { keyId: 'patients', file: 'keys/patients.gpg', plainCreatedAt: '2026-01-02T03:04:05.000Z' };
const text = (s: string) => new TextEncoder().encode(s);
const fernetKey = (material: Uint8Array) => `${Buffer.from(material).toString('base64url')}=`;

function threeVersions(): StoredKey {
  return {
    keyId: 'patients',
    createdAt: '2026-01-01T00:00:00.000Z',
    description: 'patient records "v2" – ünïcode',
    versions: [
      { version: 1, createdAt: '2026-01-01T00:00:00.000Z', state: 'disabled', material: randomBytes(32) },
      { version: 2, createdAt: '2026-02-01T00:00:00.000Z', state: 'enabled', material: randomBytes(32) },
      { version: 4, createdAt: '2026-03-01T00:00:00+01:00', state: 'enabled', material: randomBytes(32) },
    ],
  };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('a plain Fernet key file, as Fernet.generate_key() and blackbox_edit write it', () => {
  const material = randomBytes(32);
  for (const [name, ending] of [
    ['no line break', ''],
    ['\\n', '\n'],
    ['\\r\\n', '\r\n'],
  ] as const) {
    it(`reads as version 1, enabled, dated plainCreatedAt (${name})`, () => {
      const key = parseKeyFile(text(`${fernetKey(material)}${ending}`), options);
      expect(key).toEqual({
        keyId: 'patients',
        createdAt: options.plainCreatedAt,
        versions: [
          {
            version: 1,
            createdAt: options.plainCreatedAt,
            state: 'enabled',
            material: new Uint8Array(material),
          },
        ],
      });
    });
  }
});

describe('the versioned layout', () => {
  it('round-trips every version, state, date and the description', () => {
    const key = threeVersions();
    const parsed = parseKeyFile(serializeKeyFile(key), options);
    expect(parsed).toEqual({
      ...key,
      versions: key.versions.map((v) => ({ ...v, material: new Uint8Array(v.material) })),
    });
  });

  it('puts the Fernet keys on line 1, newest enabled first, and the marker on line 2', () => {
    const three = threeVersions();
    const key = {
      ...three,
      versions: three.versions.map((v) => (v.version === 4 ? { ...v, state: 'disabled' as const } : v)),
    };
    const lines = new TextDecoder().decode(serializeKeyFile(key)).split('\n');
    const [v1, v2, v4] = key.versions.map((v) => fernetKey(v.material));
    expect(lines[0]).toBe(`${v2},${v4},${v1}`);
    expect(lines[1]).toBe('# keystore-blackbox-key 1');
    expect(lines.at(-1)).toBe('');
  });

  it('reads the layout with \\r\\n line endings (edited on Windows)', () => {
    const key = threeVersions();
    const crlf = new TextDecoder().decode(serializeKeyFile(key)).replaceAll('\n', '\r\n');
    expect(parseKeyFile(text(crlf), options).versions.map((v) => v.version)).toEqual([1, 2, 4]);
  });

  it('a newer layout version is a ConfigError (upgrade), not Corrupted', () => {
    const s = new TextDecoder().decode(serializeKeyFile(threeVersions())).replace('key 1\n', 'key 2\n');
    expect(
      isKeystoreError(
        errorOf(() => parseKeyFile(text(s), options)),
        'ConfigError',
      ),
    ).toBe(true);
  });
});

describe('malformed files are Corrupted, and the message never quotes them', () => {
  const good = new TextDecoder().decode(serializeKeyFile(threeVersions()));
  const lines = good.split('\n');
  const secret = lines[0]?.split(',')[0] as string;
  const swap = (index: number, line: string) => lines.map((l, i) => (i === index ? line : l)).join('\n');
  const cases: Record<string, string> = {
    empty: '',
    'a Fernet key with a trailing space': `${secret} \n`,
    'a Fernet key without its padding': `${secret.slice(0, -1)}\n`,
    // The 43rd character carries 4 bits: setting one of its 2 spare bits is another text, same bytes.
    'a non-canonical Fernet key (spare bits set)': `${secret.slice(0, 42)}${B64URL[B64URL.indexOf(secret[42] as string) + 1]}=\n`,
    'two plain keys': `${secret}\n${secret}\n`,
    // Bytes whose standard encoding has both '+' and '/' (a random key has neither a quarter of the time).
    'the standard base64 alphabet': `${Buffer.alloc(32, 0xfb).toString('base64')}\n`,
    'no final line break': good.slice(0, -1),
    'mixed line endings': good.replace('\n', '\r\n'),
    'line 1 edited (versions dropped)': swap(0, secret),
    'no marker': swap(1, '# something else'),
    'a bad created line': swap(2, 'created yesterday'),
    'a bad description': swap(3, 'description not-json'),
    'versions out of order': [lines[0], lines[1], lines[2], lines[3], lines[5], lines[4], lines[6], ''].join(
      '\n',
    ),
    'an unknown state': good.replace(' enabled ', ' active '),
    'a version 0': good.replace('version 1 ', 'version 0 '),
    'a short material': good.replace(/ [A-Za-z0-9_-]{43}=\n$/, ` ${secret.slice(4)}\n`),
    'no version lines': `${lines.slice(0, 4).join('\n')}\n`,
    'an extra line': `${good}extra ${secret}\n`,
  };
  for (const [name, content] of Object.entries(cases)) {
    it(name, () => {
      const error = errorOf(() => parseKeyFile(text(content), options));
      expect(isKeystoreError(error, 'Corrupted')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('keys/patients.gpg');
      for (const part of content.split(/[\s,]+/).filter((p) => p.length >= 12))
        expect(message).not.toContain(part);
    });
  }

  it('not UTF-8', () => {
    const error = errorOf(() => parseKeyFile(new Uint8Array([0xff, 0xfe, 0x0a]), options));
    expect(isKeystoreError(error, 'Corrupted')).toBe(true);
  });
});

const python = spawnSync('python3', ['-c', 'import cryptography.fernet'], { timeout: 30_000 });

describe.skipIf(python.status !== 0)("Python's MultiFernet over line 1", () => {
  it('decrypts tokens of the newest and an older version, and encrypts with the newest enabled one', () => {
    const key = threeVersions();
    const file = serializeKeyFile(key);
    const [v1, v2, v4] = key.versions.map((v) => fernetKey(v.material));
    // Line 1 on stdin; each Fernet key on its own, to make the tokens the file's keys must open.
    const script = `
import sys
from cryptography.fernet import Fernet, MultiFernet
keys = sys.argv[1:4]
line = sys.stdin.read().split('\\n')[0]
multi = MultiFernet([Fernet(k) for k in line.split(',')])
for k in keys:
    assert multi.decrypt(Fernet(k).encrypt(b'record')) == b'record'
token = multi.encrypt(b'new record')
Fernet(keys[2]).decrypt(token)
print('ok')
`;
    const run = spawnSync('python3', ['-c', script, v1 as string, v2 as string, v4 as string], {
      input: file,
      timeout: 30_000,
    });
    expect(run.stderr.toString()).toBe('');
    expect(run.stdout.toString().trim()).toBe('ok');
  });
});
