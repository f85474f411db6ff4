import { describe, expect, it } from 'vitest';
import { keystoreProvider } from '../src/index.js';

const valid = {
  type: 'aws-kms',
  region: 'eu-central-1',
  endpoint: 'http://127.0.0.1:4566',
  keys: {
    patients: 'alias/patients',
    billing: 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
  credentials: {
    accessKeyId: { env: 'AWS_ACCESS_KEY_ID' },
    secretAccessKey: { env: 'AWS_SECRET_ACCESS_KEY' },
  },
};

describe('aws-kms configuration', () => {
  it('accepts the documented block, and a bare region (aliases per key id, SDK credentials)', () => {
    expect(keystoreProvider.parseConfig(valid)).toMatchObject({ region: 'eu-central-1' });
    expect(keystoreProvider.parseConfig({ type: 'aws-kms', region: 'us-east-1' })).toEqual({
      type: 'aws-kms',
      region: 'us-east-1',
    });
  });

  it.each([
    [{ ...valid, region: 'Frankfurt' }, /provider\.region/],
    [{ ...valid, endpoint: 'ftp://x' }, /provider\.endpoint/],
    [{ ...valid, keys: { patients: 'alias/aws/s3' } }, /provider\.keys/],
    [{ ...valid, keys: { patients: 'patients key' } }, /provider\.keys/],
    [{ ...valid, keys: { 'bad id!': 'alias/x' } }, /provider\.keys/],
    [{ ...valid, credentials: { accessKeyId: 'AKIA-inline', secretAccessKey: { env: 'S' } } }, /credentials/],
    [{ ...valid, credentials: { accessKeyId: { env: 'A' } } }, /credentials\.secretAccessKey/],
    [{ ...valid, regoin: 'x' }, /unknown field 'regoin'/],
  ])('refuses %j with a ConfigError naming the field', (config, message) => {
    expect(() => keystoreProvider.parseConfig(config)).toThrow(message);
    expect(() => keystoreProvider.parseConfig(config)).toThrow(
      expect.objectContaining({ code: 'ConfigError' }),
    );
  });

  it('resolves credential references at creation, naming a missing variable and not its value', async () => {
    const config = keystoreProvider.parseConfig(valid);
    await expect(
      keystoreProvider.create(config, {
        env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' },
        baseDir: '.',
        resolveSecret: (ref, field) => {
          if ('env' in ref && ref.env === 'AWS_ACCESS_KEY_ID') return 'AKIAEXAMPLE';
          throw Object.assign(new Error(`${field}: environment variable is not set`), {
            code: 'ConfigError',
          });
        },
      }),
    ).rejects.toThrow(/provider\.credentials\.secretAccessKey/);
  });
});
