import { ConfigError } from '@keystore/core/provider';
import { writeFileAtomic } from './atomic-write.js';
import { readRegularFile } from './regular-file.js';

/**
 * blackbox-admins.txt and blackbox-files.txt, read as Blackbox's scripts read
 * them and written in the order they write them (docs/blackbox-layout.md has
 * each rule and the script it comes from). Where the scripts would break
 * (blank lines, CRLF) we skip or refuse instead of guessing; where
 * `blackbox_addadmin` would silently drop an admin (`sort -fdu` takes
 * `a.b@x` and `ab@x` for one line) we keep both.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The lines of a list file, each checked; the newline after the last line is optional. */
function lines(bytes: Uint8Array, file: string): string[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ConfigError(`blackbox: ${file} is not UTF-8 text`);
  }
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  all.forEach((line, index) => {
    // Blackbox's scripts would take the CR as part of the name and find no such key or file.
    if (line.includes('\r')) {
      throw new ConfigError(
        `blackbox: ${file} line ${index + 1} contains a CR (CRLF line ends?); Blackbox's scripts need LF only`,
      );
    }
    if (line.includes('\0')) throw new ConfigError(`blackbox: ${file} line ${index + 1} contains a NUL`);
  });
  return all;
}

const unique = (items: string[]) => [...new Set(items)];

/**
 * Admins as `encrypt_file` passes them to gpg (`awk '{ print "-r" $1 }'`): the
 * first field of each line, split at spaces and tabs. Blank lines are
 * skipped (they would break Blackbox's own gpg call). File order, no repeats.
 */
export function parseAdmins(bytes: Uint8Array, file: string): string[] {
  const fields = lines(bytes, file).map((line) => line.split(/[ \t]+/).find((field) => field !== ''));
  return unique(fields.filter((field): field is string => field !== undefined));
}

/**
 * Registered files as `blackbox_postdeploy` reads them (`while IFS= read -r`):
 * whole lines, spaces kept; blank lines skipped. File order, no repeats.
 */
export function parseFiles(bytes: Uint8Array, file: string): string[] {
  return unique(lines(bytes, file).filter((line) => line !== ''));
}

export const readAdmins = async (file: string) => parseAdmins(await readListFile(file), file);
export const readFiles = async (file: string) => parseFiles(await readListFile(file), file);

async function readListFile(file: string): Promise<Buffer> {
  const bytes = await readRegularFile(file);
  if (bytes === undefined)
    throw new ConfigError(`blackbox: ${file} is missing (blackbox_initialize creates it)`);
  return bytes;
}

/** A list file's text: one entry a line, LF, a newline after the last. */
const text = (entries: string[]) => entries.map((entry) => `${entry}\n`).join('');

function checkEntries(entries: string[], what: string): void {
  for (const entry of entries) {
    if (entry === '' || /[\r\n\0]/.test(entry)) {
      throw new ConfigError(`blackbox: ${what} must be non-empty and on one line`);
    }
    if (what === 'an admin' && /[ \t]/.test(entry)) {
      throw new ConfigError(
        'blackbox: an admin must not contain spaces or tabs (Blackbox reads the first field)',
      );
    }
  }
}

const bytesOf = (s: string) => Buffer.from(s, 'utf8');

/** `sort -fd`'s key under LC_ALL=C: only blanks and ASCII letters and digits count, case folded up. */
function dictionaryFoldKey(line: string): Buffer {
  const kept = [...bytesOf(line)].filter(
    (b) =>
      b === 0x20 ||
      b === 0x09 ||
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a),
  );
  return Buffer.from(kept.map((b) => (b >= 0x61 && b <= 0x7a ? b - 0x20 : b)));
}

/**
 * The order of `LC_ALL=C sort -fdu` (`blackbox_addadmin`), ties broken by
 * bytes as GNU sort's last-resort comparison does, so a file we write and one
 * the script writes list the same admins in the same order. Only exact
 * duplicates are dropped, never two admins `-fdu` would take for one.
 */
export function sortAdmins(admins: string[]): string[] {
  return unique(admins).sort(
    (a, b) =>
      Buffer.compare(dictionaryFoldKey(a), dictionaryFoldKey(b)) || Buffer.compare(bytesOf(a), bytesOf(b)),
  );
}

/** The order of `LC_ALL=C sort -u` (`add_filename_to_cryptlist`): UTF-8 bytes, no repeats. */
export function sortFiles(files: string[]): string[] {
  return unique(files).sort((a, b) => Buffer.compare(bytesOf(a), bytesOf(b)));
}

export async function writeAdmins(file: string, admins: string[]): Promise<void> {
  checkEntries(admins, 'an admin');
  await writeFileAtomic(file, text(sortAdmins(admins)));
}

export async function writeFiles(file: string, files: string[]): Promise<void> {
  checkEntries(files, 'a registered file');
  await writeFileAtomic(file, text(sortFiles(files)));
}

/**
 * Registers `plainRel` as `add_filename_to_cryptlist` does (a no-op if it is
 * listed); true if it was added. Read, change, write: callers serialise
 * writers of one repository.
 */
export async function registerFile(file: string, plainRel: string): Promise<boolean> {
  const files = await readFiles(file);
  if (files.includes(plainRel)) return false;
  await writeFiles(file, [...files, plainRel]);
  return true;
}

/** Deregisters `plainRel` as `remove_filename_from_cryptlist` does; true if it was listed. */
export async function deregisterFile(file: string, plainRel: string): Promise<boolean> {
  const files = await readFiles(file);
  if (!files.includes(plainRel)) return false;
  await writeFiles(
    file,
    files.filter((entry) => entry !== plainRel),
  );
  return true;
}
