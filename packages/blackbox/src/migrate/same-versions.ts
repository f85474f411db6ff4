import { timingSafeEqual } from 'node:crypto';
import type { StoredKey } from '@keystore/core/provider';

/**
 * Whether the target already holds exactly the source's versions: the same
 * numbers, states and material. Dates are not compared: a plain key file
 * (what `blackbox_edit` or `gpg` wrote) has no date of its own and reads as
 * dated by its `.gpg` file's mtime, which a fresh `git clone` changes, so a
 * re-run from another checkout would otherwise conflict with its own copy.
 */
export function sameVersions(source: StoredKey, target: StoredKey): boolean {
  if (source.versions.length !== target.versions.length) return false;
  return source.versions.every((v, i) => {
    const t = target.versions[i];
    return (
      t !== undefined &&
      t.version === v.version &&
      t.state === v.state &&
      t.material.length === v.material.length &&
      timingSafeEqual(t.material, v.material)
    );
  });
}
