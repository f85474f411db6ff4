import { ConfigError, InvalidArgument } from '@keystore/core/provider';
import { type AdminMatch, adminWithoutKey } from '../pgp/public-keys.js';
import { type BlackboxProviderOptions, openRepository } from '../provider.js';
import type { BlackboxLayout } from '../repo/layout.js';
import { readAdmins, writeAdmins } from '../repo/lists.js';
import type { ReencryptReport } from './file-report.js';
import { matchListedAdmins } from './match-admins.js';
import { lockRepository, type ReencryptOptions, reencryptAll } from './reencrypt-files.js';

/** An admin line as blackbox_addadmin takes it: one field (Blackbox reads only the first), one line. */
function checkAdminLine(admin: unknown): string {
  if (typeof admin !== 'string' || admin === '' || /[\s\0]/.test(admin)) {
    throw new InvalidArgument(
      'blackbox: an admin is one word (an e-mail address or key id) without spaces or line breaks',
    );
  }
  return admin;
}

/**
 * As `blackbox_addadmin <admin>` followed by `blackbox_update_all_files`:
 * adds the line to blackbox-admins.txt (sorted as `sort -fdu` sorts, only
 * exact duplicates dropped), then re-encrypts every registered file to the
 * new set. The admin's public key must already be in the repository's
 * pubring (we do not write keyboxes): otherwise ConfigError with the gpg
 * command blackbox_addadmin runs, and nothing is changed. An admin already
 * listed is not added twice; the files are re-encrypted all the same.
 * @throws InvalidArgument for a malformed admin; ConfigError for a missing key (this or another admin's)
 */
export function addBlackboxAdmin(
  options: BlackboxProviderOptions,
  admin: string,
  reencrypt: ReencryptOptions = {},
): Promise<ReencryptReport> {
  return changeAdmins(options, admin, reencrypt, async (layout, listed) => {
    const next = listed.includes(admin) ? listed : [...listed, admin];
    const match = await matchListedAdmins(layout, next);
    if (match.missing.includes(admin)) {
      const dataDirAbs = `${layout.root}/${layout.dataDir}`;
      throw new ConfigError(
        `blackbox: admin ${admin} has no public key in ${layout.pubring.path}; import it first, as blackbox_addadmin does: gpg --export ${admin} | gpg --homedir=${dataDirAbs} --import`,
      );
    }
    return { next, match };
  });
}

/**
 * As `blackbox_removeadmin <admin>` followed by `blackbox_update_all_files`:
 * removes the admin (the line whose first field is `admin`) from
 * blackbox-admins.txt, then re-encrypts every registered file to the others.
 * Their key stays in the pubring (harmless: only listed admins are
 * encrypted to), and so do the `.gpg` files they could open in the
 * repository's history: rotate the keys after removing an admin.
 * @throws InvalidArgument when the admin is not listed or is the last one (nothing changed);
 *   ConfigError when a remaining admin has no public key (nothing changed)
 */
export function removeBlackboxAdmin(
  options: BlackboxProviderOptions,
  admin: string,
  reencrypt: ReencryptOptions = {},
): Promise<ReencryptReport> {
  return changeAdmins(options, admin, reencrypt, async (layout, listed) => {
    if (!listed.includes(admin)) {
      throw new InvalidArgument(`blackbox: admin ${admin} is not in ${layout.adminsFile}`);
    }
    const next = listed.filter((a) => a !== admin);
    if (next.length === 0) {
      throw new InvalidArgument(
        `blackbox: ${admin} is the last admin in ${layout.adminsFile}; add another admin before removing it`,
      );
    }
    return { next, match: await matchListedAdmins(layout, next) };
  });
}

/**
 * What adding and removing share: under the repository's lock, the new list
 * is computed and matched to keys before anything is written (an admin
 * without a key changes nothing), then written, then every file re-encrypted.
 */
async function changeAdmins(
  options: BlackboxProviderOptions,
  admin: string,
  reencrypt: ReencryptOptions,
  change: (layout: BlackboxLayout, listed: string[]) => Promise<{ next: string[]; match: AdminMatch }>,
): Promise<ReencryptReport> {
  checkAdminLine(admin);
  const repo = await openRepository(options);
  const { layout } = repo;
  return lockRepository(layout).run(async () => {
    const listed = await readAdmins(layout.adminsFile);
    const { next, match } = await change(layout, listed);
    if (match.missing[0] !== undefined) throw adminWithoutKey(match.missing[0], layout.pubring.path);
    if (next !== listed) await writeAdmins(layout.adminsFile, next);
    return reencryptAll(repo, match.matched, reencrypt);
  });
}
