import { open, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@keystore/core/provider';
import { HEADER_MAGIC } from '../keybox/keybox-format.js';
import { checkKeysDir, isWithin } from './paths.js';

/**
 * Where a Blackbox repository keeps its data, found as Blackbox v1's scripts
 * find it (`_blackbox_common.sh`; docs/blackbox-layout.md): the data
 * directory is `.blackbox` or, in repositories from before mid-2018,
 * `keyrings/live`, the first that exists in that order; `options.dataDir`
 * plays the part of the scripts' BLACKBOXDATA (relative to the root). The
 * environment is not read.
 */
export interface BlackboxLayout {
  /** The repository root, a realpath. */
  readonly root: string;
  /** Relative to the root, `/`-separated: `.blackbox`, `keyrings/live` or options.dataDir. */
  readonly dataDir: string;
  readonly adminsFile: string;
  readonly filesFile: string;
  /**
   * The admins' public keys: `pubring.gpg` if it exists (the scripts prefer
   * it), else `pubring.kbx` (which may not exist yet in a repository without
   * admins). The format is read from the file's first bytes, since GnuPG 2.1+
   * writes a new keyring as a keybox whatever its name; by name if absent.
   */
  readonly pubring: { readonly path: string; readonly format: 'kbx' | 'gpg' };
}

export interface FindLayoutOptions {
  /** BLACKBOXDATA: the data directory relative to the root, instead of looking for the two. */
  readonly dataDir?: string;
}

export const DATA_DIR_CANDIDATES = ['.blackbox', 'keyrings/live'] as const;
export const ADMINS_FILE = 'blackbox-admins.txt';
export const FILES_FILE = 'blackbox-files.txt';

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );

export async function findLayout(repoRoot: string, options: FindLayoutOptions = {}): Promise<BlackboxLayout> {
  let root: string;
  try {
    root = await realpath(repoRoot);
  } catch {
    throw new ConfigError(`blackbox: repository ${repoRoot} does not exist or cannot be read`);
  }
  if (!(await isDirectory(root)))
    throw new ConfigError(`blackbox: repository ${repoRoot} is not a directory`);

  const dataDir = await chooseDataDir(root, options.dataDir);
  const dataPath = join(root, ...dataDir.split('/'));
  // A data directory that is a symlink out of the repository would have us write admins elsewhere.
  const realData = await realpath(dataPath);
  if (!isWithin(root, realData)) {
    throw new ConfigError(`blackbox: ${join(repoRoot, dataDir)} leads out of the repository (symlink)`);
  }
  const adminsFile = join(dataPath, ADMINS_FILE);
  const filesFile = join(dataPath, FILES_FILE);
  for (const file of [adminsFile, filesFile]) {
    // blackbox_initialize creates both; without one this is not (or no longer) a Blackbox repository.
    if (!(await isFile(file))) {
      throw new ConfigError(
        `blackbox: not a Blackbox repository: ${file} is missing (blackbox_initialize creates it)`,
      );
    }
  }
  return { root, dataDir, adminsFile, filesFile, pubring: await findPubring(dataPath) };
}

async function chooseDataDir(root: string, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) {
    checkKeysDir(explicit); // the same rule: relative, no . or .. segments
    if (!(await isDirectory(join(root, ...explicit.split('/'))))) {
      throw new ConfigError(
        `blackbox: not a Blackbox repository: ${join(root, explicit)} is not a directory`,
      );
    }
    return explicit;
  }
  for (const candidate of DATA_DIR_CANDIDATES) {
    if (await isDirectory(join(root, ...candidate.split('/')))) return candidate;
  }
  throw new ConfigError(
    `blackbox: not a Blackbox repository: ${root} has neither .blackbox/ nor keyrings/live/ (blackbox_initialize creates .blackbox/)`,
  );
}

async function findPubring(dataPath: string): Promise<BlackboxLayout['pubring']> {
  const legacy = join(dataPath, 'pubring.gpg');
  if (await isFile(legacy)) return { path: legacy, format: (await isKeybox(legacy)) ? 'kbx' : 'gpg' };
  const keybox = join(dataPath, 'pubring.kbx');
  if (await isFile(keybox)) return { path: keybox, format: (await isKeybox(keybox)) ? 'kbx' : 'gpg' };
  return { path: keybox, format: 'kbx' };
}

/** A keybox starts with its header blob: length, type 1, version 1, flags, then `KBXf`. */
async function isKeybox(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    return bytesRead === 12 && head.subarray(8, 12).toString('latin1') === HEADER_MAGIC;
  } finally {
    await handle.close();
  }
}
