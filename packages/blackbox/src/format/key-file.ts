import {
  ConfigError,
  Corrupted,
  InvalidArgument,
  MATERIAL_LENGTH,
  type StoredKey,
  type StoredVersion,
} from '@keystore/core/provider';

/**
 * The plaintext inside a key's `.gpg` file (README, "Key file layout"). Two layouts are read:
 *
 * 1. A plain Fernet key, as our users' guides store one with `blackbox_edit` or `gpg` and as
 *    Python's `Fernet.generate_key()` writes it: 44 characters of padded base64url (32 bytes),
 *    optionally followed by one `\n` or `\r\n`. It reads as version 1, enabled, created at the
 *    `plainCreatedAt` the caller gives (the store passes the `.gpg` file's mtime: the file holds
 *    no date of its own).
 *
 * 2. What this package writes, every version of the key, in lines ending `\n`:
 *
 *        <fernet key>,<fernet key>,...        every version, the newest enabled one first, then the rest newest first
 *        # keystore-blackbox-key 1            the marker: what the file is, and its layout version
 *        created <RFC 3339 time>              the key's creation
 *        description <JSON string>            optional
 *        version <n> <RFC 3339 time> <enabled|disabled> <fernet key>    one per version, ascending
 *
 *    The first line is not the marker, so that Python keeps working on the newest key:
 *    `MultiFernet([Fernet(k) for k in first_line.split(',')])` encrypts with the newest enabled
 *    version and decrypts tokens of every version, and `first_line.split(',')[0]` is the key a
 *    single-key tool wants. The marker follows on line 2, where `blackbox_cat` and `gpg -d`
 *    show it to a human. Line 1 is derived from the version lines and checked against them.
 *
 * Parsing is strict: anything else is `Corrupted`, naming the file and the line number, never
 * quoting the content. A newer layout version is a `ConfigError` (upgrade the package).
 */
export const KEY_FILE_MARKER_PREFIX = '# keystore-blackbox-key ';
export const KEY_FILE_FORMAT_VERSION = 1;
const MARKER = `${KEY_FILE_MARKER_PREFIX}${KEY_FILE_FORMAT_VERSION}`;

/** A Fernet key: padded base64url of 32 bytes. */
const FERNET_KEY = /^[A-Za-z0-9_-]{43}=$/;
const PLAIN_KEY_FILE = /^([A-Za-z0-9_-]{43}=)(?:\r?\n)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const VERSION_LINE = /^version (\d{1,15}) (\S+) (enabled|disabled) (\S+)$/;
const MAX_FILE = 1024 * 1024;

export interface ParseKeyFileOptions {
  readonly keyId: string;
  /** What messages call the file (its repository path). */
  readonly file: string;
  /** The createdAt of a plain Fernet key file (which holds no date): the file's mtime, as RFC 3339. */
  readonly plainCreatedAt: string;
}

/** The key a decrypted key file holds. @throws Corrupted, or ConfigError for a newer layout */
export function parseKeyFile(plaintext: Uint8Array, options: ParseKeyFileOptions): StoredKey {
  const { keyId, file } = options;
  const fail = (problem: string) => new Corrupted(`blackbox: the key file ${file} is not valid: ${problem}`);
  if (plaintext.length > MAX_FILE) throw fail('it is larger than a key file can be');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw fail('it is not UTF-8 text');
  }
  const plain = PLAIN_KEY_FILE.exec(text);
  if (plain?.[1]) {
    if (!isTimestamp(options.plainCreatedAt)) {
      throw new InvalidArgument('parseKeyFile: plainCreatedAt must be an RFC 3339 time');
    }
    const material = decodeFernetKey(plain[1]);
    if (!material) throw fail('line 1 is not a canonical Fernet key');
    const version: StoredVersion = {
      version: 1,
      createdAt: options.plainCreatedAt,
      state: 'enabled',
      material,
    };
    return { keyId, createdAt: options.plainCreatedAt, versions: [version] };
  }
  return parseVersioned(text, keyId, fail);
}

function parseVersioned(text: string, keyId: string, fail: (problem: string) => Corrupted): StoredKey {
  // One line ending throughout: all `\n`, or all `\r\n` (a file edited on Windows).
  const crlf = text.includes('\r');
  const lines = text.split(crlf ? '\r\n' : '\n');
  if (lines.pop() !== '') throw fail('the last line does not end with a line break');
  if (lines.some((line) => line.includes('\r'))) throw fail('it mixes line endings');
  const marker = lines[1];
  if (marker !== MARKER) {
    const newer = marker?.startsWith(KEY_FILE_MARKER_PREFIX)
      ? Number(marker.slice(KEY_FILE_MARKER_PREFIX.length))
      : Number.NaN;
    if (Number.isSafeInteger(newer) && newer > KEY_FILE_FORMAT_VERSION) {
      throw new ConfigError(
        `blackbox: the key file of '${keyId}' has layout version ${newer}; this version of @keystore/blackbox reads version ${KEY_FILE_FORMAT_VERSION}: upgrade it`,
      );
    }
    throw fail('it is neither a Fernet key nor a keystore key file (no marker on line 2)');
  }
  const created = /^created (\S+)$/.exec(lines[2] ?? '');
  if (!created?.[1] || !isTimestamp(created[1])) throw fail('line 3 is not "created <time>"');
  let at = 3;
  let description: string | undefined;
  if (lines[at]?.startsWith('description ')) {
    description = parseDescription((lines[at] as string).slice('description '.length));
    if (description === undefined) throw fail(`line ${at + 1} is not "description <JSON string>"`);
    at++;
  }
  const versions: StoredVersion[] = [];
  const zeroAll = () => {
    for (const v of versions) v.material.fill(0);
  };
  for (; at < lines.length; at++) {
    const match = VERSION_LINE.exec(lines[at] as string);
    const number = Number(match?.[1]);
    const previous = versions[versions.length - 1]?.version ?? 0;
    const material = match?.[4] ? decodeFernetKey(match[4]) : undefined;
    if (!match || !material || !isTimestamp(match[2] as string) || number < 1 || number <= previous) {
      material?.fill(0);
      zeroAll();
      throw fail(`line ${at + 1} is not a version line in ascending order`);
    }
    versions.push({
      version: number,
      createdAt: match[2] as string,
      state: match[3] as 'enabled' | 'disabled',
      material,
    });
  }
  if (versions.length === 0) throw fail('it lists no version');
  const key: StoredKey = {
    keyId,
    createdAt: created[1],
    ...(description === undefined ? {} : { description }),
    versions,
  };
  if (lines[0] !== fernetLine(key)) {
    zeroAll();
    throw fail("line 1 does not list the versions' Fernet keys, newest enabled first");
  }
  return key;
}

/** The text of `key` in the versioned layout, UTF-8. @throws InvalidArgument for a key no layout can hold */
export function serializeKeyFile(key: StoredKey): Uint8Array {
  if (!isTimestamp(key.createdAt))
    throw new InvalidArgument(`key '${key.keyId}': createdAt is not an RFC 3339 time`);
  if (key.versions.length === 0) throw new InvalidArgument(`key '${key.keyId}' has no version`);
  let previous = 0;
  for (const v of key.versions) {
    if (!Number.isSafeInteger(v.version) || v.version <= previous) {
      throw new InvalidArgument(`key '${key.keyId}': versions must be ascending positive integers`);
    }
    if (!isTimestamp(v.createdAt)) {
      throw new InvalidArgument(
        `key '${key.keyId}': version ${v.version}'s createdAt is not an RFC 3339 time`,
      );
    }
    if (v.material.length !== MATERIAL_LENGTH) {
      throw new InvalidArgument(
        `key '${key.keyId}': version ${v.version}'s material is not ${MATERIAL_LENGTH} bytes`,
      );
    }
    previous = v.version;
  }
  const lines = [fernetLine(key), MARKER, `created ${key.createdAt}`];
  if (key.description !== undefined) lines.push(`description ${JSON.stringify(key.description)}`);
  for (const v of key.versions)
    lines.push(`version ${v.version} ${v.createdAt} ${v.state} ${fernetKeyOf(v.material)}`);
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}

/** Line 1: the newest enabled version first (MultiFernet encrypts with it), then every other, newest first. */
function fernetLine(key: StoredKey): string {
  const newestFirst = [...key.versions].reverse();
  const primary = newestFirst.find((v) => v.state === 'enabled') ?? newestFirst[0];
  const ordered = [primary, ...newestFirst.filter((v) => v !== primary)] as StoredVersion[];
  return ordered.map((v) => fernetKeyOf(v.material)).join(',');
}

function fernetKeyOf(material: Uint8Array): string {
  // A view, not a copy: no copy of the material in Node's Buffer pool.
  return `${Buffer.from(material.buffer, material.byteOffset, material.byteLength).toString('base64url')}=`;
}

/** Into memory of its own, and only canonical text (one string per material, no edit silently ignored). */
function decodeFernetKey(text: string): Uint8Array | undefined {
  if (!FERNET_KEY.test(text)) return undefined;
  const bytes = Buffer.alloc(MATERIAL_LENGTH);
  const written = bytes.write(text, 'base64url');
  if (written !== MATERIAL_LENGTH || `${bytes.toString('base64url')}=` !== text) {
    bytes.fill(0);
    return undefined;
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function parseDescription(json: string): string | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' && JSON.stringify(value) === json ? value : undefined;
  } catch {
    return undefined;
  }
}

function isTimestamp(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}
