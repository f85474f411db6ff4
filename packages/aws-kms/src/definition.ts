import {
  defineProvider,
  isValidKeyId,
  type ProviderContext,
  parseConfig,
  secretRefSchema,
} from '@keystore/core/provider';
import { z } from 'zod';
import { classifyReference } from './names.js';
import { createAwsKmsProvider } from './provider.js';

/**
 * The `provider` block for type `aws-kms`. Credentials are secret
 * references, resolved at creation; without them the SDK's provider chain
 * finds them (environment, shared profile, container or instance role).
 */
const credentialsSchema = z
  .object({
    accessKeyId: secretRefSchema,
    secretAccessKey: secretRefSchema,
    sessionToken: secretRefSchema.optional(),
  })
  .strict();

const keyReference = z
  .string()
  .refine(
    (ref) => classifyReference(ref) !== undefined,
    'must be a KMS key id, key ARN, alias name (alias/...) or alias ARN, not an AWS managed alias',
  );

export const awsKmsConfigSchema = z
  .object({
    type: z.literal('aws-kms'),
    region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-central-1'),
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    keys: z.record(z.string().refine(isValidKeyId, 'must be a key id'), keyReference).optional(),
    credentials: credentialsSchema.optional(),
    maxAttempts: z.number().int().min(1).max(10).optional(),
  })
  .strict();

export type AwsKmsConfig = z.infer<typeof awsKmsConfigSchema>;

// `createKeystore({ provider: { type: 'aws-kms', ... } })` type-checks once this package is imported.
declare module '@keystore/core/provider' {
  interface KeystoreProviderConfigs {
    'aws-kms': Omit<AwsKmsConfig, 'type'>;
  }
}

function credentialsFor(config: AwsKmsConfig, context: ProviderContext) {
  const { credentials } = config;
  if (credentials === undefined) return undefined;
  return {
    accessKeyId: context.resolveSecret(credentials.accessKeyId, 'provider.credentials.accessKeyId'),
    secretAccessKey: context.resolveSecret(
      credentials.secretAccessKey,
      'provider.credentials.secretAccessKey',
    ),
    ...(credentials.sessionToken === undefined
      ? {}
      : {
          sessionToken: context.resolveSecret(credentials.sessionToken, 'provider.credentials.sessionToken'),
        }),
  };
}

export const keystoreProvider = defineProvider<AwsKmsConfig>({
  type: 'aws-kms',
  parseConfig(config) {
    return parseConfig(awsKmsConfigSchema, config, 'provider');
  },
  async create(config, context) {
    const endpoint = config.endpoint ?? context.env.AWS_ENDPOINT_URL_KMS;
    const credentials = credentialsFor(config, context);
    return createAwsKmsProvider({
      region: config.region,
      ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
      ...(config.keys === undefined ? {} : { keys: config.keys }),
      ...(credentials === undefined ? {} : { credentials }),
      ...(config.maxAttempts === undefined ? {} : { maxAttempts: config.maxAttempts }),
    });
  },
});
