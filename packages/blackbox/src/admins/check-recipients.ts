import { messageRecipients } from '../pgp/decrypt.js';
import type { BlackboxProviderOptions } from '../provider.js';
import { findLayout } from '../repo/layout.js';
import { readFiles } from '../repo/lists.js';
import { AdminKeys } from '../store/admin-keys.js';
import { readSnapshot } from '../store/read-gpg-file.js';
import { type FileFailure, failureOf } from './file-report.js';
import { compareRecipients, type RecipientMismatch } from './recipient-mismatch.js';
import { missingEncryptedFile, resolveRegisteredFile } from './registered-file.js';

export interface RecipientsReport {
  /** Every registered file whose recipients differ from the admins, in blackbox-files.txt's order. */
  readonly mismatched: RecipientMismatch[];
  /** Registered files that could not be checked (missing or corrupted `.gpg`, a path refused). */
  readonly failed: FileFailure[];
}

/**
 * For every file in blackbox-files.txt, the recipients its `.gpg` names
 * against the admins in blackbox-admins.txt. Nothing is decrypted, so no
 * identity is needed; nothing is written.
 * @throws ConfigError when an admin has no public key (as a write would)
 */
export async function checkBlackboxRecipients(
  options: Pick<BlackboxProviderOptions, 'repo' | 'dataDir'>,
): Promise<RecipientsReport> {
  const layout = await findLayout(
    options.repo,
    options.dataDir === undefined ? {} : { dataDir: options.dataDir },
  );
  const admins = await new AdminKeys(layout).current();
  const report: RecipientsReport = { mismatched: [], failed: [] };
  for (const entry of await readFiles(layout.filesFile)) {
    try {
      const file = await readSnapshot(await resolveRegisteredFile(layout.root, entry));
      if (file === undefined) throw missingEncryptedFile(entry);
      const mismatch = compareRecipients(entry, await messageRecipients(file.bytes, `${entry}.gpg`), admins);
      if (mismatch) report.mismatched.push(mismatch);
    } catch (error) {
      report.failed.push(failureOf(entry, error));
    }
  }
  return report;
}
