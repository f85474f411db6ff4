import { describe, expect, it } from 'vitest';
import { sameKeyOwner } from '../src/names.js';

const key = (
  partition: string,
  region: string,
  account: string,
  id = '1234abcd-12ab-34cd-56ef-1234567890ab',
) => `arn:${partition}:kms:${region}:${account}:key/${id}`;

describe('sameKeyOwner: which ARNs an envelope may make the provider look up', () => {
  it('accepts another key of the same partition, region and account', () => {
    expect(
      sameKeyOwner(
        key('aws', 'eu-central-1', '111122223333'),
        key('aws', 'eu-central-1', '111122223333', 'other'),
      ),
    ).toBe(true);
  });

  it('refuses another account, region or partition, and anything that is not a key ARN', () => {
    const ours = key('aws', 'eu-central-1', '111122223333');
    expect(sameKeyOwner(key('aws', 'eu-central-1', '444455556666'), ours)).toBe(false);
    expect(sameKeyOwner(key('aws', 'us-east-1', '111122223333'), ours)).toBe(false);
    expect(sameKeyOwner(key('aws-cn', 'eu-central-1', '111122223333'), ours)).toBe(false);
    expect(sameKeyOwner('arn:aws:kms:eu-central-1:111122223333:alias/x', ours)).toBe(false);
    expect(sameKeyOwner('not an arn', ours)).toBe(false);
  });
});
