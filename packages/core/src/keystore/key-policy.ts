import { AccessDenied, ConfigError } from '../errors/keystore-error.js';
import { isValidKeyId } from '../provider/key-id.js';

/**
 * Which keys a keystore may use. An envelope names its key; decrypt only asks
 * the provider for keys the configuration allows, never for whatever key a
 * ciphertext asks for. `defaultKey` is always an exact id. `allowedKeys` are
 * exact ids, or a prefix ending in `*` (`tenant-*` allows `tenant-1` and
 * `tenant-10`: end the prefix with a separator); the single pattern `'*'`
 * allows every key of the provider, an explicit opt-in.
 */
export class KeyPolicy {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #any: boolean;

  constructor(defaultKey: string | undefined, allowedKeys: readonly string[] | '*' | undefined) {
    if (defaultKey !== undefined) {
      if (!isValidKeyId(defaultKey)) throw new ConfigError('defaultKey: not a valid key id');
      this.#exact.add(defaultKey);
    }
    this.#any = allowedKeys === '*';
    if (allowedKeys !== '*') {
      for (const pattern of allowedKeys ?? []) {
        const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : undefined;
        if (prefix !== undefined && prefix.length > 0 && isValidKeyId(prefix)) this.#prefixes.push(prefix);
        else if (prefix === undefined && isValidKeyId(pattern)) this.#exact.add(pattern);
        else throw new ConfigError(`allowedKeys: '${pattern}' is neither a key id nor a prefix ending in *`);
      }
    }
    if (!this.#any && this.#exact.size === 0 && this.#prefixes.length === 0) {
      throw new ConfigError('keys: configure defaultKey, or the keys this keystore may use (allowedKeys)');
    }
  }

  allows(keyId: string): boolean {
    return this.#any || this.#exact.has(keyId) || this.#prefixes.some((p) => keyId.startsWith(p));
  }

  check(keyId: string): void {
    if (!this.allows(keyId)) {
      throw new AccessDenied(
        `key '${keyId}' is not one this keystore's configuration allows (see allowedKeys)`,
      );
    }
  }
}
