import type { KeyProvider } from '@keystore/core';
import * as core from '@keystore/core';
import { ConformanceFailure, ConformanceSkip, describeError, fail } from './assert.js';
import { randomHex } from './bytes.js';
import type { ConformanceContext, ConformanceFixture, KeystoreLike } from './types.js';

export const DEFAULT_KEY_PREFIX = 'conformance-';

export interface DisposableContext extends ConformanceContext {
  /** Deletes the keys the test made, closes keystores and the provider, runs `fixture.cleanup`. */
  dispose(): Promise<void>;
}

type KeystoreConstructor = new (options: { provider: KeyProvider; allowedKeys: '*' }) => KeystoreLike;

/**
 * The default Keystore: `@keystore/core`'s. Looked up on the module namespace
 * (not imported by name) so that an older core without it fails this test
 * with a clear message instead of failing to load; and not imported
 * dynamically, so that CommonJS users get the same copy of the core (and of
 * its error classes) as the rest of the suite.
 */
function defaultKeystore(provider: KeyProvider): KeystoreLike {
  const Keystore = (core as unknown as Record<string, unknown>).Keystore;
  if (typeof Keystore !== 'function') {
    return fail(
      'the installed @keystore/core does not export Keystore, which the envelope tests need: upgrade @keystore/core or give the fixture a keystore()',
    );
  }
  return new (Keystore as KeystoreConstructor)({ provider, allowedKeys: '*' });
}

export function createContext(fixture: ConformanceFixture): DisposableContext {
  const provider = core.guardProvider(fixture.provider);
  const keyPrefix = fixture.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const created: string[] = [];
  const keys = new Map<number, Promise<string>>();
  const keystores: KeystoreLike[] = [];
  let counter = 0;

  const label = (text: string) => text.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40);
  const unusedKeyId = (text: string) => `${keyPrefix}${label(text)}-${randomHex(6)}-${++counter}`;

  const skip = (reason: string): never => {
    throw new ConformanceSkip(reason);
  };

  async function createKey(text: string): Promise<string> {
    const keyId = unusedKeyId(text);
    try {
      await provider.createKey(keyId);
    } catch (error) {
      return fail(`createKey('${keyId}') failed: ${describeError(error)}`, error);
    }
    created.push(keyId);
    return keyId;
  }

  async function deleteCreatedKeys(): Promise<void> {
    if (!provider.capabilities.deleteKey) return;
    for (const keyId of created.splice(0)) {
      try {
        await provider.deleteKey(keyId, { confirm: keyId });
      } catch {
        // Deleted by the test already, or the provider is closed: nothing to clean up.
      }
    }
  }

  const ctx: DisposableContext = {
    fixture,
    provider,
    capabilities: provider.capabilities,
    versioning: provider.versioning,
    keyPrefix,
    unusedKeyId,
    skip,
    createKey,
    deleteCreatedKeys,

    key(index = 0) {
      let found = keys.get(index);
      if (found === undefined) {
        if (provider.capabilities.createKey) {
          found = createKey(`key${index}`);
        } else {
          const existing = fixture.existingKeys?.[index];
          if (existing === undefined) {
            const have = fixture.existingKeys?.length ?? 0;
            return skip(
              `needs ${index + 1} keys: the provider cannot create keys and fixture.existingKeys names ${have}`,
            );
          }
          found = Promise.resolve(existing);
        }
        keys.set(index, found);
      }
      return found;
    },

    async importKey(text, material) {
      const keyId = unusedKeyId(text);
      try {
        await provider.importKey(keyId, material);
      } catch (error) {
        return fail(`importKey('${keyId}') failed: ${describeError(error)}`, error);
      }
      created.push(keyId);
      return keyId;
    },

    track(keyId) {
      created.push(keyId);
    },

    async keystore() {
      const keystore = await (fixture.keystore?.(fixture.provider) ?? defaultKeystore(fixture.provider));
      keystores.push(keystore);
      return keystore;
    },

    async dispose() {
      const errors: unknown[] = [];
      await deleteCreatedKeys();
      for (const keystore of keystores) {
        try {
          await keystore.close();
        } catch (error) {
          errors.push(error);
        }
      }
      try {
        await provider.close();
      } catch (error) {
        errors.push(error);
      }
      try {
        await fixture.cleanup?.();
      } catch (error) {
        errors.push(error);
      }
      const [first] = errors;
      if (first !== undefined) {
        throw new ConformanceFailure(`closing the fixture failed: ${describeError(first)}`, { cause: first });
      }
    },
  };
  return ctx;
}
