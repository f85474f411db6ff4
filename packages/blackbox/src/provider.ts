import { ConfigError, createMaterialProvider, type KeyProvider } from '@keystore/core/provider';
import { type Identity, loadIdentity } from './pgp/identity.js';
import { type BlackboxLayout, findLayout } from './repo/layout.js';
import { checkKeysDir, DEFAULT_KEYS_DIR } from './repo/paths.js';
import { createBlackboxStore } from './store/blackbox-store.js';

export interface BlackboxProviderOptions {
  /** The repository root (the directory holding `.blackbox/` or `keyrings/live/`). */
  readonly repo: string;
  /** An admin's private key, armored (`gpg --export-secret-keys --armor <admin>`). */
  readonly identity: string;
  /** The identity's passphrase, if it has one. */
  readonly passphrase?: string;
  /** Where key files live, relative to the root (default `keys`). */
  readonly keysDir?: string;
  /** The data directory relative to the root, as Blackbox's BLACKBOXDATA (default: `.blackbox`, else `keyrings/live`). */
  readonly dataDir?: string;
}

/** A repository opened for reading and writing: its layout and the unlocked identity. */
export interface OpenedRepository {
  readonly layout: BlackboxLayout;
  readonly identity: Identity;
  readonly keysDir: string;
}

/** Finds the layout and unlocks the identity once (each S2K derivation costs tens of milliseconds). */
export async function openRepository(options: BlackboxProviderOptions): Promise<OpenedRepository> {
  const keysDir = checkKeysDir(options.keysDir ?? DEFAULT_KEYS_DIR);
  const layout = await findLayout(
    options.repo,
    options.dataDir === undefined ? {} : { dataDir: options.dataDir },
  );
  // Keys among Blackbox's own files, or in git's, would be overwritten by (or overwrite) them.
  const within = (dir: string) => keysDir === dir || keysDir.startsWith(`${dir}/`);
  if (within(layout.dataDir) || within('.git')) {
    throw new ConfigError(
      `blackbox: keysDir '${keysDir}' is inside ${within('.git') ? '.git' : layout.dataDir}; choose a directory of its own`,
    );
  }
  const identity = await loadIdentity(options.identity, options.passphrase);
  return { layout, identity, keysDir };
}

/**
 * The `blackbox` provider: key material in a StackExchange Blackbox
 * repository, read and written as its scripts do, with OpenPGP.js (no gpg
 * binary, no agent).
 */
export async function createBlackboxProvider(options: BlackboxProviderOptions): Promise<KeyProvider> {
  return createMaterialProvider(createBlackboxStore(await openRepository(options)));
}
