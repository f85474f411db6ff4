import { Corrupted, InvalidArgument } from '../../../errors/keystore-error.js';
import type { StoredKey, StoredVersion } from '../../../provider/material-store.js';
import {
  type KeyEntry,
  type KeystoreDocument,
  MAX_DESCRIPTION_LENGTH,
  MAX_KEY_ID_LENGTH,
  MAX_TIMESTAMP_LENGTH,
  type VersionEntry,
} from '../format/document.js';
import { verifyMac } from '../format/mac.js';
import { openMaterial, sealMaterial } from '../format/material.js';
import type { FileKeys } from '../format/subkeys.js';

const MATERIAL_LENGTH = 32;
const MAX_VERSION = 0xffff_ffff;

/** A verified, decrypted view of the file as it was when read (`signature`). */
export interface Snapshot {
  readonly signature: string;
  readonly doc: KeystoreDocument;
  readonly keys: ReadonlyMap<string, StoredKey>;
}

/**
 * Checks the MAC over the whole document and decrypts every key version.
 * Versions whose sealed material is unchanged since `previous` keep their
 * decrypted material (decrypted once, the same object). All or nothing:
 * any failure throws `Corrupted` and no part of the file is used.
 * `accept` checks the verified document (its generation) before anything is
 * decrypted, and throws to refuse it.
 */
export function openSnapshot(
  path: string,
  doc: KeystoreDocument,
  keys: FileKeys,
  signature: string,
  previous?: Snapshot,
  accept?: (doc: KeystoreDocument) => void,
): Snapshot {
  if (!verifyMac(keys.mac, doc)) {
    throw new Corrupted(`keystore file ${path} is corrupted: integrity check failed (truncated or edited)`);
  }
  accept?.(doc);
  const stored = new Map<string, StoredKey>();
  for (const [keyId, entry] of doc.keys) {
    const before = previous?.doc.keys.get(keyId);
    const beforeKey = previous?.keys.get(keyId);
    const versions = entry.versions.map((v): StoredVersion => {
      const reused =
        before?.versions.find((b) => b.version === v.version)?.material === v.material
          ? beforeKey?.versions.find((b) => b.version === v.version)?.material
          : undefined;
      const material = reused ?? openMaterial(keys.material, keyId, v.version, v.material);
      if (material === undefined || material.length !== MATERIAL_LENGTH) {
        throw new Corrupted(`keystore file ${path} is corrupted: a key version's material does not decrypt`);
      }
      return { version: v.version, createdAt: v.createdAt, state: v.state, material };
    });
    stored.set(keyId, {
      keyId,
      createdAt: entry.createdAt,
      ...(entry.description === undefined ? {} : { description: entry.description }),
      versions,
    });
  }
  return { signature, doc, keys: stored };
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TIMESTAMP_LENGTH;
}

/** What the file format can hold: checked before writing, so a write never makes the file unreadable. */
export function checkStoredKey(key: StoredKey): void {
  if (typeof key?.keyId !== 'string' || key.keyId.length === 0 || key.keyId.length > MAX_KEY_ID_LENGTH) {
    throw new InvalidArgument(`key id must be 1 to ${MAX_KEY_ID_LENGTH} characters`);
  }
  if (!isTimestamp(key.createdAt)) throw new InvalidArgument('createdAt must be an ISO 8601 time');
  if (
    key.description !== undefined &&
    (typeof key.description !== 'string' || key.description.length > MAX_DESCRIPTION_LENGTH)
  ) {
    throw new InvalidArgument(`description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  if (!Array.isArray(key.versions) || key.versions.length === 0) {
    throw new InvalidArgument('a key needs at least one version');
  }
  let last = 0;
  for (const v of key.versions) {
    if (!Number.isSafeInteger(v.version) || v.version <= last || v.version > MAX_VERSION) {
      throw new InvalidArgument('key versions must be ascending positive integers');
    }
    last = v.version;
    if (!isTimestamp(v.createdAt)) throw new InvalidArgument('a version createdAt must be an ISO 8601 time');
    if (v.state !== 'enabled' && v.state !== 'disabled') {
      throw new InvalidArgument("a version state must be 'enabled' or 'disabled'");
    }
    if (!(v.material instanceof Uint8Array) || v.material.length !== MATERIAL_LENGTH) {
      throw new InvalidArgument(`key material must be ${MATERIAL_LENGTH} bytes`);
    }
  }
}

export interface SealedKey {
  /** For the file. */
  readonly entry: KeyEntry;
  /** For the in-memory view: unchanged versions keep their material object, new ones get a private copy. */
  readonly stored: StoredKey;
}

/** Encrypts `key` for the file; versions unchanged since `snapshot` keep their sealed material as is. */
export function sealKey(key: StoredKey, snapshot: Snapshot, keys: FileKeys): SealedKey {
  const beforeEntry = snapshot.doc.keys.get(key.keyId);
  const beforeKey = snapshot.keys.get(key.keyId);
  const entries: VersionEntry[] = [];
  const versions: StoredVersion[] = [];
  for (const v of key.versions) {
    const oldEntry = beforeEntry?.versions.find((b) => b.version === v.version);
    const old = beforeKey?.versions.find((b) => b.version === v.version);
    const same = old !== undefined && oldEntry !== undefined && Buffer.from(old.material).equals(v.material);
    const material = same ? old.material : new Uint8Array(v.material);
    const sealed = same ? oldEntry.material : sealMaterial(keys.material, key.keyId, v.version, material);
    entries.push({ version: v.version, createdAt: v.createdAt, state: v.state, material: sealed });
    versions.push({ version: v.version, createdAt: v.createdAt, state: v.state, material });
  }
  const description = key.description === undefined ? {} : { description: key.description };
  return {
    entry: { createdAt: key.createdAt, ...description, versions: entries },
    stored: { keyId: key.keyId, createdAt: key.createdAt, ...description, versions },
  };
}
