import { randomBytes } from 'node:crypto';
import { decodeBase64Url } from '../../../encoding/base64url.js';
import { ConfigError, Corrupted } from '../../../errors/keystore-error.js';
import type { KeyVersionState } from '../../../provider/key-provider.js';
import { canonicalJson, type JsonObject, type JsonValue } from './canonical-json.js';
import { type KdfParams, kdfParamsProblem } from './kdf.js';

/**
 * The keystore file's JSON layout (README.md in this folder): its shape,
 * parsing with strict validation, and serialization. Cryptography (the MAC,
 * material encryption, subkeys) lives in mac.ts, material.ts and subkeys.ts.
 */
export const FILE_FORMAT = 'keystore-file';
/** The version this library writes: 2 added `generation`. Version 1 files (no generation) still open. */
export const FILE_FORMAT_VERSION = 2;
/** A file of this version has no generation (it counts as generation 0). */
const VERSION_WITHOUT_GENERATION = 1;

export const SALT_LENGTH = 32;
export const VERIFIER_LENGTH = 32;
export const MAC_LENGTH = 32;
/** nonce (12) | AES-256-GCM ciphertext of 32 bytes | tag (16). */
export const SEALED_MATERIAL_LENGTH = 12 + 32 + 16;
export const MAX_KEY_ID_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 4096;
export const MAX_TIMESTAMP_LENGTH = 64;
const MAX_TEXT_LENGTH = MAX_DESCRIPTION_LENGTH;

/** `none`: the master key was given directly (`masterKey`), not derived from a password. */
export type KdfBlock = (KdfParams | { readonly name: 'none' }) & { readonly salt: string };

export interface VersionEntry {
  readonly version: number;
  readonly createdAt: string;
  readonly state: KeyVersionState;
  /** base64url of nonce | ciphertext | tag. */
  readonly material: string;
}

export interface KeyEntry {
  readonly createdAt: string;
  readonly description?: string;
  /** Ascending by version; never empty. */
  readonly versions: readonly VersionEntry[];
}

export interface KeystoreDocument {
  /**
   * Incremented by every write, covered by the MAC: a process that has seen
   * generation N refuses a lower one (a rolled-back file). 0 for a version 1
   * file, which has none; every written file has 1 or more.
   */
  readonly generation: number;
  readonly kdf: KdfBlock;
  /** base64url, 32 bytes. */
  readonly verifier: string;
  /** By key id (alias). A Map, so that an alias such as `__proto__` is just a name. */
  readonly keys: ReadonlyMap<string, KeyEntry>;
  /** base64url HMAC-SHA256 over `macInput` of the rest. */
  readonly mac: string;
}

type Json = Record<string, unknown>;

const DOCUMENT_FIELDS = ['kdf', 'verifier', 'keys', 'mac'] as const;

class Reader {
  constructor(private readonly path: string) {}

  fail(reason: string): never {
    throw new Corrupted(`keystore file ${this.path} is corrupted: ${reason}`);
  }

  object(value: unknown, what: string, fields: readonly string[], optional: readonly string[] = []): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(`${what} is not an object`);
    const object = value as Json;
    for (const key of Object.keys(object)) {
      if (!fields.includes(key) && !optional.includes(key)) this.fail(`${what} has an unexpected field`);
    }
    for (const key of fields) if (!Object.hasOwn(object, key)) this.fail(`${what} lacks the field '${key}'`);
    return object;
  }

  text(value: unknown, what: string, max = MAX_TEXT_LENGTH, min = 1): string {
    if (typeof value !== 'string' || value.length < min || value.length > max) {
      this.fail(`${what} is not a valid string`);
    }
    return value;
  }

  integer(value: unknown, what: string): number {
    if (!Number.isSafeInteger(value)) this.fail(`${what} is not an integer`);
    return value as number;
  }

  bytes(value: unknown, what: string, length: number): string {
    const text = this.text(value, what);
    const decoded = decodeBase64Url(text);
    if (decoded === undefined || decoded.length !== length || text.includes('=')) {
      this.fail(`${what} is not ${length} bytes of unpadded base64url`);
    }
    return text;
  }
}

function readKdf(r: Reader, value: unknown): KdfBlock {
  const head = r.object(value, 'kdf', ['name', 'salt'], ['N', 'r', 'p', 'iterations']);
  const salt = r.bytes(head.salt, 'kdf.salt', SALT_LENGTH);
  let block: KdfBlock;
  if (head.name === 'scrypt') {
    const o = r.object(value, 'kdf', ['name', 'salt', 'N', 'r', 'p']);
    block = {
      name: 'scrypt',
      salt,
      N: r.integer(o.N, 'kdf.N'),
      r: r.integer(o.r, 'kdf.r'),
      p: r.integer(o.p, 'kdf.p'),
    };
  } else if (head.name === 'pbkdf2-sha256') {
    const o = r.object(value, 'kdf', ['name', 'salt', 'iterations']);
    block = { name: 'pbkdf2-sha256', salt, iterations: r.integer(o.iterations, 'kdf.iterations') };
  } else if (head.name === 'none') {
    r.object(value, 'kdf', ['name', 'salt']);
    return { name: 'none', salt };
  } else {
    return r.fail("kdf.name is not 'scrypt', 'pbkdf2-sha256' or 'none'");
  }
  const problem = kdfParamsProblem(block);
  if (problem !== undefined) r.fail(`kdf parameters are out of range (${problem})`);
  return block;
}

function readVersion(r: Reader, value: unknown): VersionEntry {
  const o = r.object(value, 'a key version', ['version', 'createdAt', 'state', 'material']);
  const version = r.integer(o.version, 'a key version number');
  if (version < 1) r.fail('a key version number is below 1');
  if (o.state !== 'enabled' && o.state !== 'disabled') r.fail("a key version's state is not valid");
  return {
    version,
    createdAt: r.text(o.createdAt, "a key version's createdAt", MAX_TIMESTAMP_LENGTH),
    state: o.state,
    material: r.bytes(o.material, "a key version's material", SEALED_MATERIAL_LENGTH),
  };
}

function readKey(r: Reader, value: unknown): KeyEntry {
  const o = r.object(value, 'a key', ['createdAt', 'versions'], ['description']);
  if (!Array.isArray(o.versions) || o.versions.length === 0)
    r.fail("a key's versions are not a non-empty list");
  const versions = o.versions.map((v) => readVersion(r, v));
  versions.forEach((v, i) => {
    const previous = versions[i - 1];
    if (previous !== undefined && v.version <= previous.version) {
      r.fail("a key's versions are not in ascending order");
    }
  });
  return {
    createdAt: r.text(o.createdAt, "a key's createdAt", MAX_TIMESTAMP_LENGTH),
    ...(o.description === undefined
      ? {}
      : { description: r.text(o.description, "a key's description", MAX_DESCRIPTION_LENGTH, 0) }),
    versions,
  };
}

/**
 * Parses and validates the file's text. Nothing in it is trusted yet: the
 * caller checks the verifier and the MAC before using any of it.
 * @throws Corrupted naming the path (never the contents); ConfigError for a newer format version
 */
export function parseDocument(text: string, path: string): KeystoreDocument {
  const r: Reader = new Reader(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: it is not passed on.
    return r.fail('not valid JSON (truncated or edited)');
  }
  // Format and version first, before the fields: a newer version may have other fields.
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    r.fail('the file is not an object');
  const head = value as Json;
  if (head.format !== FILE_FORMAT) r.fail(`not a keystore file (format is not '${FILE_FORMAT}')`);
  const version = r.integer(head.version, 'version');
  if (version > FILE_FORMAT_VERSION) {
    throw new ConfigError(
      `keystore file ${path} has format version ${version}; this version of @keystore/core reads versions up to ${FILE_FORMAT_VERSION}: upgrade it`,
    );
  }
  if (version !== FILE_FORMAT_VERSION && version !== VERSION_WITHOUT_GENERATION) {
    r.fail('unknown format version');
  }
  const withGeneration = version !== VERSION_WITHOUT_GENERATION;
  const top = r.object(value, 'the file', [
    'format',
    'version',
    ...DOCUMENT_FIELDS,
    ...(withGeneration ? ['generation'] : []),
  ]);
  let generation = 0;
  if (withGeneration) {
    generation = r.integer(top.generation, 'generation');
    if (generation < 1) r.fail('generation is below 1');
  }
  const keysValue = top.keys;
  if (typeof keysValue !== 'object' || keysValue === null || Array.isArray(keysValue)) {
    r.fail('keys is not an object');
  }
  const keys = new Map<string, KeyEntry>();
  for (const [keyId, entry] of Object.entries(keysValue as Json)) {
    if (keyId.length === 0 || keyId.length > MAX_KEY_ID_LENGTH) r.fail('a key id is not valid');
    keys.set(keyId, readKey(r, entry));
  }
  return {
    generation,
    kdf: readKdf(r, top.kdf),
    verifier: r.bytes(top.verifier, 'verifier', VERIFIER_LENGTH),
    keys,
    mac: r.bytes(top.mac, 'mac', MAC_LENGTH),
  };
}

function kdfJson(kdf: KdfBlock): JsonObject {
  switch (kdf.name) {
    case 'scrypt':
      return { name: kdf.name, salt: kdf.salt, N: kdf.N, r: kdf.r, p: kdf.p };
    case 'pbkdf2-sha256':
      return { name: kdf.name, salt: kdf.salt, iterations: kdf.iterations };
    default:
      return { name: kdf.name, salt: kdf.salt };
  }
}

function keysJson(keys: ReadonlyMap<string, KeyEntry>): JsonObject {
  // A prototype-less object: an alias named `__proto__` becomes an ordinary member.
  const out = Object.create(null) as Record<string, JsonValue>;
  for (const keyId of [...keys.keys()].sort()) {
    const entry = keys.get(keyId) as KeyEntry;
    out[keyId] = {
      createdAt: entry.createdAt,
      ...(entry.description === undefined ? {} : { description: entry.description }),
      versions: entry.versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        state: v.state,
        material: v.material,
      })),
    };
  }
  return out;
}

function contentJson(doc: Omit<KeystoreDocument, 'mac'>): JsonObject {
  // Generation 0 is a version 1 file as it was read: its MAC covers no generation.
  const versioned: JsonObject =
    doc.generation === 0
      ? { version: VERSION_WITHOUT_GENERATION }
      : { version: FILE_FORMAT_VERSION, generation: doc.generation };
  return {
    format: FILE_FORMAT,
    ...versioned,
    kdf: kdfJson(doc.kdf),
    verifier: doc.verifier,
    keys: keysJson(doc.keys),
  };
}

/** The bytes the MAC covers: the canonical JSON of everything but `mac`. */
export function macInput(doc: Omit<KeystoreDocument, 'mac'>): Buffer {
  return Buffer.from(canonicalJson(contentJson(doc)), 'utf8');
}

/** The file's text: indented JSON, `mac` last, a trailing newline. */
export function serializeDocument(doc: KeystoreDocument): string {
  return `${JSON.stringify({ ...contentJson(doc), mac: doc.mac }, null, 2)}\n`;
}

/** A new file's KDF block: the parameters for a password (`none` for a master key), with a fresh salt. */
export function newKdfBlock(params: KdfParams | undefined): KdfBlock {
  const salt = randomBytes(SALT_LENGTH).toString('base64url');
  return params === undefined ? { name: 'none', salt } : { ...params, salt };
}

/** The KDF parameters of a block, or `undefined` for a master key (`none`). */
export function kdfParamsOf(kdf: KdfBlock): KdfParams | undefined {
  switch (kdf.name) {
    case 'scrypt':
      return { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p };
    case 'pbkdf2-sha256':
      return { name: 'pbkdf2-sha256', iterations: kdf.iterations };
    default:
      return undefined;
  }
}

/** Whether two versions of a file are the same keystore: same KDF block and verifier (same secret). */
export function sameKeystore(a: KeystoreDocument, b: KeystoreDocument): boolean {
  return a.verifier === b.verifier && canonicalJson({ ...a.kdf }) === canonicalJson({ ...b.kdf });
}
