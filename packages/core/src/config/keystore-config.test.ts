import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { createKeystore } from '../keystore/create-keystore.js';
import type { keystoreConfigSchema } from './config-schema.js';
import type { KeystoreConfig, ProviderConfig } from './keystore-config.js';

// What an adapter package does (with `declare module '@keystore/core'`) to add its type.
declare module './keystore-config.js' {
  interface KeystoreProviderConfigs {
    'test-adapter': { endpoint: string; retries?: number };
  }
}

/**
 * Never runs `build`: `pnpm typecheck` checks that each call compiles, or,
 * under @ts-expect-error, that it does not. (expectTypeOf's toBeCallableWith
 * skips the excess-property check that catches typos, so plain calls it is.)
 */
function compiles(_build: () => unknown): void {}

describe('the KeystoreConfig type', () => {
  it('accepts the configurations the schemas accept', async () => {
    compiles(() => createKeystore({ provider: { type: 'memory', keys: ['a'] }, defaultKey: 'a' }));
    compiles(() =>
      createKeystore({
        provider: {
          type: 'file',
          path: 'app.keystore.json',
          password: { env: 'KEYSTORE_PASSWORD' },
          create: true,
          kdf: { name: 'pbkdf2-sha256', iterations: 600_000 },
        },
        defaultKey: 'patients',
        allowedKeys: ['billing', 'tenant-*'],
        timeoutMs: 5_000,
      }),
    );
    compiles(() => createKeystore({ provider: { type: 'env', prefix: 'APP_KEY_', envFile: '.env' } }));
    compiles(() =>
      createKeystore({
        recipients: [
          { name: 'main', provider: { type: 'memory', keys: ['a'] }, key: 'a' },
          { name: 'break-glass', provider: { type: 'env' }, key: 'glass', allowedKeys: ['glass-*'] },
        ],
        decryptOrder: ['main', 'break-glass'],
        timeoutMs: 5_000,
      }),
    );
    // What a file holds is only known at run time, where the schemas check it.
    compiles(() => createKeystore(JSON.parse('{}')));
    compiles(() => createKeystore(undefined, { env: {} }));
    // Every configuration the type allows is one the validation allows too.
    expectTypeOf<KeystoreConfig>().toExtend<z.input<typeof keystoreConfigSchema>>();

    const config: KeystoreConfig = { provider: { type: 'memory', keys: ['a'] }, defaultKey: 'a' };
    const ks = await createKeystore(config);
    expect(ks.defaultKey).toBe('a');
    await ks.close();
  });

  it('makes a typo or a wrong type a compile error', () => {
    // @ts-expect-error a typo in a provider field
    compiles(() => createKeystore({ provider: { type: 'memory', kyes: ['a'] } }));
    // @ts-expect-error a typo in a top-level field
    compiles(() => createKeystore({ provider: { type: 'memory' }, defaultkey: 'a' }));
    // @ts-expect-error a field of the wrong type
    compiles(() => createKeystore({ provider: { type: 'file', path: 'k.json', create: 'yes' } }));
    // @ts-expect-error timeoutMs is a number of milliseconds
    compiles(() => createKeystore({ provider: { type: 'env' }, timeoutMs: '15s' }));
    // @ts-expect-error a secret is a reference ({ env } or { file }), not the secret
    compiles(() => createKeystore({ provider: { type: 'file', path: 'k.json', password: 'pw' } }));
    // @ts-expect-error a field of another provider type
    compiles(() => createKeystore({ provider: { type: 'env', path: 'k.json' } }));
    // @ts-expect-error an unknown provider type
    compiles(() => createKeystore({ provider: { type: 'hsm' } }));
    // @ts-expect-error the provider's type is required
    compiles(() => createKeystore({ provider: { path: 'k.json' } }));
    compiles(() =>
      // @ts-expect-error recipients take no top-level defaultKey: each names its key
      createKeystore({ recipients: [{ name: 'a', provider: { type: 'env' }, key: 'a' }], defaultKey: 'a' }),
    );
    // @ts-expect-error a recipient needs its key
    compiles(() => createKeystore({ recipients: [{ name: 'a', provider: { type: 'env' } }] }));
    // @ts-expect-error decryptOrder goes with recipients
    compiles(() => createKeystore({ provider: { type: 'env' }, decryptOrder: ['a'] }));
    // @ts-expect-error the file provider needs its path
    compiles(() => createKeystore({ provider: { type: 'file', password: { env: 'PW' } } }));
  });

  it('takes the types adapters add by declaration merging, with their own fields', () => {
    expectTypeOf<ProviderConfig['type']>().toEqualTypeOf<'file' | 'env' | 'memory' | 'test-adapter'>();
    compiles(() => createKeystore({ provider: { type: 'test-adapter', endpoint: 'https://vault:8200' } }));
    // @ts-expect-error the merged type's fields are checked too
    compiles(() => createKeystore({ provider: { type: 'test-adapter', endpoint: 8200 } }));
    // @ts-expect-error and its required fields are required
    compiles(() => createKeystore({ provider: { type: 'test-adapter', retries: 2 } }));
  });
});
