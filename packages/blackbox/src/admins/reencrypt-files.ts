import { decryptFile, messageRecipients } from '../pgp/decrypt.js';
import { encryptToRecipients } from '../pgp/encrypt.js';
import type { MatchedAdmin } from '../pgp/public-keys.js';
import { type BlackboxProviderOptions, type OpenedRepository, openRepository } from '../provider.js';
import { writeFileAtomic } from '../repo/atomic-write.js';
import type { BlackboxLayout } from '../repo/layout.js';
import { readFiles } from '../repo/lists.js';
import { AdminKeys } from '../store/admin-keys.js';
import { readSnapshot } from '../store/read-gpg-file.js';
import { RepoLock } from '../store/repo-lock.js';
import { failureOf, type ReencryptReport } from './file-report.js';
import { compareRecipients } from './recipient-mismatch.js';
import { missingEncryptedFile, resolveRegisteredFile } from './registered-file.js';

export interface ReencryptOptions {
  /** Called after each registered file, done or failed: `(done, total)`. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Leave files already encrypted to exactly the admins as they are (listed
   * as `unchanged`). Off by default: blackbox_update_all_files re-encrypts
   * every file, which also gives each a new session key.
   */
  readonly onlyOutdated?: boolean;
}

/**
 * The lock the store's writers take (the same lock file in the data
 * directory), so a re-encryption and a key write never interleave, in this
 * process or another.
 */
export function lockRepository(layout: BlackboxLayout): RepoLock {
  return new RepoLock(`${layout.root}/${layout.dataDir}`);
}

/**
 * As `blackbox_update_all_files`: every file in blackbox-files.txt (our keys
 * and any other registered file, as bytes) decrypted with the identity and
 * encrypted to the current admins, each `.gpg` replaced atomically, under
 * the repository's lock. Plaintext stays in memory. One file failing (not a
 * recipient, corrupted, missing) leaves that `.gpg` as it was and the
 * others go on; the report says which.
 * @throws AccessDenied for a wrong passphrase; ConfigError for an admin without a public key
 *   (before any file is touched)
 */
export async function reencryptBlackboxFiles(
  options: BlackboxProviderOptions,
  reencrypt: ReencryptOptions = {},
): Promise<ReencryptReport> {
  const repo = await openRepository(options);
  return lockRepository(repo.layout).run(async () =>
    reencryptAll(repo, await new AdminKeys(repo.layout).current(), reencrypt),
  );
}

/** The loop of `reencryptBlackboxFiles`, for callers that hold the lock and chose the admins. */
export async function reencryptAll(
  repo: OpenedRepository,
  admins: readonly MatchedAdmin[],
  options: ReencryptOptions,
): Promise<ReencryptReport> {
  const { layout, identity } = repo;
  const entries = await readFiles(layout.filesFile);
  const keys = admins.map((a) => a.key);
  const report: ReencryptReport = { reencrypted: [], unchanged: [], failed: [] };
  let done = 0;
  for (const entry of entries) {
    const name = `${entry}.gpg`;
    try {
      const path = await resolveRegisteredFile(layout.root, entry);
      const file = await readSnapshot(path);
      if (file === undefined) throw missingEncryptedFile(entry);
      const upToDate =
        options.onlyOutdated === true &&
        compareRecipients(entry, await messageRecipients(file.bytes, name), admins) === undefined;
      if (upToDate) {
        report.unchanged.push(entry);
      } else {
        const plaintext = await decryptFile(file.bytes, identity, name);
        let ciphertext: Uint8Array;
        try {
          ciphertext = await encryptToRecipients(plaintext, keys);
        } finally {
          plaintext.fill(0);
        }
        await writeFileAtomic(path, ciphertext);
        report.reencrypted.push(entry);
      }
    } catch (error) {
      report.failed.push(failureOf(entry, error));
    }
    done += 1;
    options.onProgress?.(done, entries.length);
  }
  return report;
}
