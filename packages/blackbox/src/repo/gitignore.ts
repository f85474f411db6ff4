import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { readRegularFile } from './regular-file.js';

/**
 * The `.gitignore` line `blackbox_register_new_file` adds for a registered
 * file's plaintext (`vcs_ignore_generic_file`): `/` and the path from the
 * root, so it ignores that one file and not the same name in other
 * directories, with `*` and `?` escaped as the script escapes them.
 */
export function ignoreLine(plainRel: string): string {
  return `/${plainRel.replace(/[*?]/g, (c) => `\\${c}`)}`;
}

/**
 * Adds the line to `<root>/.gitignore` unless a line equals it (idempotent,
 * as the script's `grep -xsqF`). Appended, never sorted, as the script does;
 * unlike the script, a last line without newline gets one first instead of
 * being glued to ours. True if the file changed.
 */
export async function addToGitignore(root: string, plainRel: string): Promise<boolean> {
  const path = join(root, '.gitignore');
  const line = ignoreLine(plainRel);
  const text = (await readRegularFile(path))?.toString('utf8') ?? '';
  // A CRLF .gitignore still counts as having the line (git ignores the CR too).
  if (text.split('\n').some((existing) => existing.replace(/\r$/, '') === line)) return false;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFileAtomic(path, `${text}${separator}${line}\n`);
  return true;
}
