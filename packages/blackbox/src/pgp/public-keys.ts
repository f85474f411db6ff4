import { readFile } from 'node:fs/promises';
import { ConfigError, Corrupted, isKeystoreError } from '@keystore/core/provider';
import { type Key, readKeys } from 'openpgp';
import { readKeybox } from '../keybox/index.js';
import { fingerprintHex, keyIdHex } from './key-ids.js';
import { classifyUserId, queryMatches } from './user-id-match.js';

/** Where the admins' public keys are: `<dataDir>/pubring.kbx` (GnuPG 2.1+) or the older `pubring.gpg`. */
export interface Pubring {
  readonly path: string;
  readonly format: 'kbx' | 'gpg';
}

/**
 * The public keys of a pubring, in file order (the order gpg searches them in).
 * @throws ConfigError when the file cannot be read; Corrupted when it does not parse (naming the
 *   path, never quoting it)
 */
export async function loadPubring(pubring: Pubring): Promise<Key[]> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(pubring.path));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`blackbox: cannot read the admins' public keys at ${pubring.path} (${code})`);
  }
  return readPubring(bytes, pubring.format, pubring.path);
}

/** As `loadPubring`, from the file's bytes; `name` is what messages call the file. */
export async function readPubring(bytes: Uint8Array, format: 'kbx' | 'gpg', name: string): Promise<Key[]> {
  if (format === 'gpg') {
    // pubring.gpg is plain OpenPGP packets (with gpg's trust packets, which OpenPGP.js skips).
    if (bytes.length === 0) return [];
    return parseKeys(bytes, name, 'the keyring');
  }
  let entries: ReturnType<typeof readKeybox>;
  try {
    entries = readKeybox(bytes);
  } catch (error) {
    if (isKeystoreError(error, 'Corrupted')) throw new Corrupted(`blackbox: ${name}: ${error.message}`);
    throw error;
  }
  const keys: Key[] = [];
  for (const entry of entries) {
    keys.push(...(await parseKeys(entry.keyblock, name, `the key at offset ${entry.offset}`)));
  }
  return keys;
}

async function parseKeys(bytes: Uint8Array, name: string, what: string): Promise<Key[]> {
  try {
    return await readKeys({ binaryKeys: bytes });
  } catch {
    throw new Corrupted(`blackbox: ${name}: ${what} is not a readable OpenPGP key`);
  }
}

/** An admin line and the key `gpg -r <line>` encrypts to. */
export interface MatchedAdmin {
  readonly admin: string;
  readonly key: Key;
  readonly fingerprint: string;
}

export interface AdminMatch {
  /** In the order of `admins`; one per admin line that names a usable key. */
  readonly matched: readonly MatchedAdmin[];
  /** Admin lines that name no key gpg could encrypt to. */
  readonly missing: readonly string[];
}

interface Candidate {
  readonly key: Key;
  readonly userIds: readonly string[];
  readonly keyIds: readonly string[];
  readonly fingerprints: readonly string[];
  readonly created: number;
}

/**
 * Which key each admin line names, as `gpg -r <line> --trust-model=always` picks it (see
 * user-id-match.ts): only keys with a usable encryption key count, as gpg skips expired and
 * revoked ones. Lines are taken as given (lists.ts reads them as the scripts do).
 */
export async function matchAdmins(admins: readonly string[], keys: readonly Key[]): Promise<AdminMatch> {
  const candidates: Candidate[] = [];
  for (const key of keys) {
    if (!(await canEncrypt(key))) continue;
    const all = key.getKeys();
    candidates.push({
      key,
      userIds: key.getUserIDs(),
      keyIds: all.map((k) => keyIdHex(k.getKeyID())),
      fingerprints: all.map(fingerprintHex),
      created: key.getCreationTime().getTime(),
    });
  }
  const matched: MatchedAdmin[] = [];
  const missing: string[] = [];
  for (const admin of admins) {
    const query = classifyUserId(admin);
    const found = candidates.filter((candidate) => queryMatches(query, candidate));
    const pick =
      query.kind === 'mail' && query.pick === 'newest'
        ? found.reduce<Candidate | undefined>(
            (best, c) => (best && best.created >= c.created ? best : c),
            undefined,
          )
        : found[0];
    if (pick) matched.push({ admin, key: pick.key, fingerprint: fingerprintHex(pick.key) });
    else missing.push(admin);
  }
  return { matched, missing };
}

/** The typed error for an admin line without a key: ConfigError, since blackbox_addadmin was not finished. */
export function adminWithoutKey(admin: string, pubring: string): ConfigError {
  return new ConfigError(`blackbox: admin ${admin} in blackbox-admins.txt has no public key in ${pubring}`);
}

async function canEncrypt(key: Key): Promise<boolean> {
  try {
    await key.getEncryptionKey();
    return true;
  } catch {
    return false;
  }
}
