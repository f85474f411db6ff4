import { InvalidArgument } from '@keystore/core/provider';

/**
 * Where a key lives in KV v2, and the checks that keep it there. A key id
 * is never used as a path: it must be one path segment of safe characters,
 * so `tenant-../x`, `a/b` or `..` are refused before any request instead of
 * being escaped. Mount and prefix are checked the same way, segment by
 * segment, so no `.` or `..` segment ever reaches Vault (which would resolve
 * `a/../b` itself, outside the prefix a policy grants).
 */
export const DEFAULT_KV_MOUNT = 'secret';
export const DEFAULT_KV_PATH_PREFIX = 'keystore/';

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const KEY_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_PREFIX_LENGTH = 512;

const isSegment = (s: string) => SEGMENT.test(s) && s !== '.' && s !== '..';

export function isKvKeyId(keyId: unknown): keyId is string {
  return typeof keyId === 'string' && KEY_ID.test(keyId) && keyId !== '.' && keyId !== '..';
}

export function checkKvKeyId(keyId: unknown): string {
  if (!isKvKeyId(keyId)) {
    throw new InvalidArgument(
      "vault: key id must be 1 to 128 characters: letters, digits and . _ - (not '.' or '..'); it names one KV secret",
    );
  }
  return keyId;
}

/** `secret`, `team/kv`: segments of safe characters, no `.`/`..`, no leading or trailing `/`. */
export function isKvMount(mount: unknown): mount is string {
  return typeof mount === 'string' && mount.split('/').every(isSegment);
}

/** `keystore/`, `apps/billing/`: non-empty segments, each followed by `/`. */
export function isKvPathPrefix(prefix: unknown): prefix is string {
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH || !prefix.endsWith('/')) return false;
  return prefix.slice(0, -1).split('/').every(isSegment);
}

export interface KvPaths {
  /** `<mount>/data/<prefix><keyId>`: the secret's current version, read and written with CAS. */
  data(keyId: string): string;
  /** `<mount>/metadata/<prefix><keyId>`: the secret and all its versions (delete). */
  metadata(keyId: string): string;
  /** `<mount>/metadata/<prefix>`: LIST of the key ids. */
  readonly list: string;
}

export function kvPaths(mount: string, pathPrefix: string): KvPaths {
  if (!isKvMount(mount)) {
    throw new InvalidArgument(
      'vault: mount must be a path of letters, digits and . _ - (no . or .. segments)',
    );
  }
  if (!isKvPathPrefix(pathPrefix)) {
    throw new InvalidArgument(
      "vault: pathPrefix must be segments of letters, digits and . _ -, each ending in '/' (no . or .. segments), e.g. 'keystore/'",
    );
  }
  return {
    data: (keyId) => `${mount}/data/${pathPrefix}${checkKvKeyId(keyId)}`,
    metadata: (keyId) => `${mount}/metadata/${pathPrefix}${checkKvKeyId(keyId)}`,
    list: `${mount}/metadata/${pathPrefix}`,
  };
}
