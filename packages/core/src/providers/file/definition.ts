import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '../../config/config-schema.js';
import { secretRefSchema } from '../../config/secret-ref.js';
import { decodeBase64Url } from '../../encoding/base64url.js';
import { ConfigError } from '../../errors/keystore-error.js';
import { defineProvider } from '../../registry/provider-definition.js';
import { createFileProvider } from './provider.js';
import { fileOptionsSchema } from './store/options.js';

/** The `file` configuration: the store's own options, with the secrets as references. */
const schema = fileOptionsSchema
  .extend({
    type: z.literal('file'),
    /** The keystore file; relative to the configuration file's directory. */
    path: z.string().min(1),
    password: secretRefSchema.optional(),
    /** 32 bytes, base64url (padding optional). */
    masterKey: secretRefSchema.optional(),
  })
  .strict()
  .refine((c) => (c.password === undefined) !== (c.masterKey === undefined), {
    message: 'give exactly one of password and masterKey',
  });

export const fileProviderDefinition = defineProvider({
  type: 'file',
  parseConfig: (config) => parseConfig(schema, config, 'provider'),
  create: async (config, ctx) => {
    const { type: _type, password, masterKey, path, ...rest } = config;
    let key: Uint8Array | undefined;
    if (masterKey !== undefined) {
      const decoded = decodeBase64Url(ctx.resolveSecret(masterKey, 'provider.masterKey').trim());
      if (decoded === undefined || decoded.length !== 32) {
        decoded?.fill(0);
        throw new ConfigError('provider.masterKey must be 32 bytes, base64url-encoded');
      }
      key = decoded;
    }
    try {
      return await createFileProvider({
        ...rest,
        path: isAbsolute(path) ? path : resolve(ctx.baseDir, path),
        ...(password === undefined ? {} : { password: ctx.resolveSecret(password, 'provider.password') }),
        ...(key === undefined ? {} : { masterKey: key }),
      });
    } finally {
      // The store keeps its own copy only until the subkeys are derived.
      key?.fill(0);
    }
  },
});
