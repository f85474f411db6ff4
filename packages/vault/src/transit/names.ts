import { InvalidArgument } from '@keystore/core/provider';

export const DEFAULT_TRANSIT_MOUNT = 'transit';

/**
 * Key ids that are Transit key names as they are. Anything else is refused
 * instead of escaped: a key id is never a path (`a/../b` never reaches Vault).
 * `.` and `..` are dot segments: the request URL is normalized, so
 * `keys/./rotate` would go out as `keys/rotate` (and upsert a key `rotate`).
 */
export const TRANSIT_KEY_NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,128}$/;
/** A mount path: segments of safe characters, no `.` or `..` segment. */
const MOUNT = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

export function transitName(keyId: string): string {
  if (typeof keyId !== 'string' || !TRANSIT_KEY_NAME.test(keyId)) {
    throw new InvalidArgument(
      "vault: key id must be 1 to 128 characters: letters, digits and . _ - (not '.' or '..'; it names a Transit key)",
    );
  }
  return keyId;
}

export function transitMount(mount: string | undefined): string {
  const path = mount ?? DEFAULT_TRANSIT_MOUNT;
  if (!MOUNT.test(path))
    throw new InvalidArgument('vault: mount must be a path of letters, digits and . _ -');
  return path;
}
