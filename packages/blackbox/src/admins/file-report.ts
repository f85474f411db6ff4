import { isKeystoreError } from '@keystore/core/provider';

/** A registered file an operation could not handle; the others went on. */
export interface FileFailure {
  /** The entry of blackbox-files.txt (the plaintext path, relative to the root). */
  readonly file: string;
  /** A `KeystoreError` code: `Corrupted`, `AccessDenied`, `InvalidArgument`, or `ProviderError` for anything else. */
  readonly code: string;
  /** Names the file and the problem; never its contents. */
  readonly message: string;
}

/** What `reencryptBlackboxFiles` (and adding or removing an admin) did, file by file. */
export interface ReencryptReport {
  /** Entries whose `.gpg` was replaced, encrypted to the current admins. */
  readonly reencrypted: string[];
  /** Entries left as they were because they were encrypted to exactly the admins already (`onlyOutdated`). */
  readonly unchanged: string[];
  /** Entries left as they were because they failed; each `.gpg` is the old one, whole. */
  readonly failed: FileFailure[];
}

/**
 * The failure of one file, as a report entry. Our errors keep their message
 * (they name files, never contents); anything else (an fs error, a bug) is
 * reduced to its errno code, since a foreign message is not ours to vouch for.
 */
export function failureOf(file: string, error: unknown): FileFailure {
  if (isKeystoreError(error)) return { file, code: error.code, message: error.message };
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return {
    file,
    code: 'ProviderError',
    message: `blackbox: ${file}.gpg could not be re-encrypted (${typeof errno === 'string' ? errno : 'unexpected error'})`,
  };
}
