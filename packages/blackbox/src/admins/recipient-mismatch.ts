import { keyIdHex } from '../pgp/key-ids.js';
import type { MatchedAdmin } from '../pgp/public-keys.js';

/** A registered file whose recipients are not the admins (an admin added or removed, files not re-encrypted). */
export interface RecipientMismatch {
  /** The entry of blackbox-files.txt. */
  readonly file: string;
  /** Admin lines none of whose key ids is among the file's recipients: they cannot decrypt it. */
  readonly missingAdmins: string[];
  /** Recipient key ids (16 hex digits, as `gpg --list-packets`) of no admin's key: someone no longer an admin, or hidden (`0000000000000000`). */
  readonly extraKeyIds: string[];
}

/**
 * Compares a message's recipient key ids with the admins' keys. An admin
 * counts as a recipient through any of its key ids (primary or subkey), since
 * a file encrypted to an older encryption subkey still opens for them.
 */
export function compareRecipients(
  file: string,
  recipients: readonly string[],
  admins: readonly MatchedAdmin[],
): RecipientMismatch | undefined {
  const given = new Set(recipients);
  const adminIds = new Set<string>();
  const missingAdmins: string[] = [];
  for (const admin of admins) {
    const ids = admin.key.getKeys().map((k) => keyIdHex(k.getKeyID()));
    for (const id of ids) adminIds.add(id);
    if (!ids.some((id) => given.has(id))) missingAdmins.push(admin.admin);
  }
  const extraKeyIds = [...given].filter((id) => !adminIds.has(id));
  if (missingAdmins.length === 0 && extraKeyIds.length === 0) return undefined;
  return { file, missingAdmins, extraKeyIds };
}
