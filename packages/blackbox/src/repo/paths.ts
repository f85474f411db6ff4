import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ConfigError, InvalidArgument, isValidKeyId } from '@keystore/core/provider';

/**
 * Where key id `<id>` lives: the registered file `<keysDir>/<id>` (the entry
 * in blackbox-files.txt, the .gitignore path) and its ciphertext
 * `<root>/<keysDir>/<id>.gpg`. A key id is a path below keysDir, so it is
 * checked as one before anything is read: no `.`/`..`/empty segment, nothing
 * absolute, no name Blackbox would take for a ciphertext (`.gpg`), and no
 * directory on the way that is a symlink out of the repository, nor a
 * symlinked .gpg (reading it would read wherever it points).
 */
export const DEFAULT_KEYS_DIR = 'keys';

export interface KeyPaths {
  /** `<keysDir>/<id>`, `/`-separated, relative to the root: as blackbox-files.txt lists it. */
  readonly plainRel: string;
  /** `<root>/<keysDir>/<id>.gpg`. */
  readonly encryptedAbs: string;
}

const isSafeSegment = (s: string) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\');

/** `keys`, `config/keys`: relative, `/`-separated, no `.`/`..`/empty segment. */
export function checkKeysDir(keysDir: string): string {
  if (
    typeof keysDir !== 'string' ||
    !keysDir.split('/').every(isSafeSegment) ||
    /[\0\r\n*?[\]!#]/.test(keysDir)
  ) {
    throw new ConfigError(
      'blackbox: keysDir must be a relative path inside the repository, without . or .. segments',
    );
  }
  return keysDir;
}

function checkIdShape(keyId: unknown): string {
  const ok =
    isValidKeyId(keyId) && keyId.split('/').every(isSafeSegment) && !keyId.toLowerCase().endsWith('.gpg');
  if (!ok) {
    // A valid-looking id is safe to name; anything else is not echoed.
    const named = isValidKeyId(keyId) ? `'${keyId}'` : 'given';
    throw new InvalidArgument(
      `blackbox: key id ${named} must be a path below keysDir: letters, digits and . _ : / @ + = -, no . or .. or empty segment, not ending in .gpg`,
    );
  }
  return keyId;
}

/** The key id's paths, from its shape alone (no file system access). */
export function keyPathsOf(root: string, keysDir: string, keyId: string): KeyPaths {
  checkKeysDir(keysDir);
  checkIdShape(keyId);
  const plainRel = `${keysDir}/${keyId}`;
  return { plainRel, encryptedAbs: `${join(root, ...plainRel.split('/'))}.gpg` };
}

/** Whether `path` is `root` or below it (both absolute, resolved). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The key id's paths, checked on disk too: every existing directory between
 * the root (a realpath) and the .gpg must resolve inside the root, and the
 * .gpg must not be a symlink. Only lstat and realpath: no file is read.
 * `root` must be a realpath (`findLayout` gives one).
 */
export async function resolveKeyPaths(root: string, keysDir: string, keyId: string): Promise<KeyPaths> {
  const paths = keyPathsOf(root, keysDir, keyId);
  for (let dir = dirname(paths.encryptedAbs); dir.length > root.length; dir = dirname(dir)) {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // created later, by us
      throw error;
    }
    if (!isWithin(root, real)) {
      throw new InvalidArgument(
        `blackbox: key id '${keyId}' leads through a symlink out of the repository (${relative(root, dir)})`,
      );
    }
  }
  const gpgFile = await lstat(paths.encryptedAbs).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (gpgFile?.isSymbolicLink()) {
    throw new InvalidArgument(`blackbox: key id '${keyId}': ${paths.plainRel}.gpg is a symlink; refused`);
  }
  return paths;
}

/** The key id a blackbox-files.txt entry stands for, if it is a key of ours (below keysDir, well-formed). */
export function keyIdOf(keysDir: string, entry: string): string | undefined {
  const prefix = `${keysDir}/`;
  if (!entry.startsWith(prefix)) return undefined;
  const keyId = entry.slice(prefix.length);
  try {
    return checkIdShape(keyId);
  } catch {
    return undefined;
  }
}
