import { AccessDenied, ConfigError } from '../errors/keystore-error.js';

/**
 * Which keys a keystore may use. An envelope names its key; decrypt only asks
 * the provider for keys the configuration allows, never for whatever key a
 * ciphertext asks for. Patterns are exact ids, or a prefix ending in `*`;
 * the single pattern `*` allows every key of the provider (an explicit opt-in).
 */
export class KeyPolicy {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #any: boolean;

  constructor(defaultKey: string | undefined, allowedKeys: readonly string[] | '*' | undefined) {
    const patterns = allowedKeys === '*' ? ['*'] : [...(allowedKeys ?? [])];
    if (defaultKey !== undefined) patterns.push(defaultKey);
    if (patterns.length === 0) {
      throw new ConfigError('keys: configure defaultKey, or the keys this keystore may use (allowedKeys)');
    }
    this.#any = patterns.includes('*');
    for (const p of patterns) {
      if (p.endsWith('*')) this.#prefixes.push(p.slice(0, -1));
      else this.#exact.add(p);
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
