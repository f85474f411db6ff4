import { stat } from 'node:fs/promises';
import type { Key } from 'openpgp';
import { type AdminMatch, loadPubring, matchAdmins } from '../pgp/public-keys.js';
import type { BlackboxLayout } from '../repo/layout.js';

/**
 * Matches admin lines to the repository's public keys as `gpg -r` would,
 * for a list that is not (yet) the one on disk: adding and removing check
 * the new list before writing it, so a key that is missing changes nothing.
 * A repository without a pubring yet has no keys.
 */
export async function matchListedAdmins(
  layout: BlackboxLayout,
  admins: readonly string[],
): Promise<AdminMatch> {
  const exists = await stat(layout.pubring.path).then(
    (s) => s.isFile(),
    () => false,
  );
  const keys: Key[] = exists ? await loadPubring(layout.pubring) : [];
  return matchAdmins(admins, keys);
}
