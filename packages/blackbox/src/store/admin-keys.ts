import { ConfigError } from '@keystore/core/provider';
import type { Key } from 'openpgp';
import { adminWithoutKey, loadPubring, type MatchedAdmin, matchAdmins } from '../pgp/public-keys.js';
import type { BlackboxLayout } from '../repo/layout.js';
import { readAdmins } from '../repo/lists.js';
import { readSnapshot } from './read-gpg-file.js';

/**
 * The admins a file is encrypted to, as `encrypt_file` takes them: every
 * line of blackbox-admins.txt, each matched to its key in the repository's
 * pubring. Read again when either file changes, never per write otherwise.
 */
export class AdminKeys {
  readonly #layout: BlackboxLayout;
  #cached: { stamp: string; admins: readonly MatchedAdmin[] } | undefined;

  constructor(layout: BlackboxLayout) {
    this.#layout = layout;
  }

  /** Every admin with its key. @throws ConfigError for no admins, or an admin without a key */
  async current(): Promise<readonly MatchedAdmin[]> {
    const [adminsFile, pubring] = await Promise.all([
      readSnapshot(this.#layout.adminsFile),
      readSnapshot(this.#layout.pubring.path),
    ]);
    const stamp = `${adminsFile?.stamp}|${pubring?.stamp}`;
    if (this.#cached?.stamp === stamp) return this.#cached.admins;
    const admins = await readAdmins(this.#layout.adminsFile);
    if (admins.length === 0) {
      throw new ConfigError(
        `blackbox: ${this.#layout.adminsFile} lists no admin to encrypt to (blackbox_addadmin)`,
      );
    }
    const keys: Key[] = pubring === undefined ? [] : await loadPubring(this.#layout.pubring);
    const { matched, missing } = await matchAdmins(admins, keys);
    if (missing.length > 0) throw adminWithoutKey(missing[0] as string, this.#layout.pubring.path);
    this.#cached = { stamp, admins: matched };
    return matched;
  }
}
