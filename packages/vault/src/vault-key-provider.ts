import type { KeyProvider, KeyVersionInfo } from '@keystore/core/provider';

/** What `createVaultProvider` returns: a `KeyProvider`, and the Vault-only operations. */
export interface VaultKeyProvider extends KeyProvider {
  /**
   * Sets the key's `min_decryption_version` to `version`: envelopes under
   * older versions then fail with `KeyNotFound` saying the version was
   * retired, and `listVersions` shows those versions `disabled`. A lower
   * `version` (down to 1) restores them. Resolves with the key's versions
   * as the change left them.
   */
  retireVersionsBelow(keyId: string, version: number): Promise<KeyVersionInfo[]>;
}
