import { InvalidArgument, KeyNotFound } from '@keystore/core/provider';

/**
 * Our key ids and the KMS keys they name. With a `keys` map, an id names
 * whatever KMS accepts as a KeyId (key id, key ARN, alias name, alias ARN);
 * without one, id `patients` is the alias `alias/patients`. The reference is
 * what every KMS call gets as KeyId, so the alias is resolved by KMS at the
 * moment of the call, never from a copy of ours.
 */
export interface KeyReference {
  /** Our key id. */
  readonly keyId: string;
  /** What KMS gets as KeyId. */
  readonly ref: string;
  /** An alias (name or ARN): what it names can change (UpdateAlias). */
  readonly isAlias: boolean;
}

/** KMS alias names: `alias/` and 1 to 250 of `A-Z a-z 0-9 / _ -`; `alias/aws/` is AWS's own. */
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/[A-Za-z0-9/_-]{1,250}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const KEY_ID = /^(?:mrk-)?[A-Za-z0-9-]{1,128}$/;

export const isKeyArn = (value: string): boolean => KEY_ARN.test(value);

/**
 * Whether two key ARNs are in the same partition, region and account: the
 * only foreign ARN an envelope may make us look up (DescribeKey) is one beside
 * the configured key, never one in another account an envelope names.
 */
export function sameKeyOwner(a: string, b: string): boolean {
  if (!isKeyArn(a) || !isKeyArn(b)) return false;
  return a.split(':').slice(0, 5).join(':') === b.split(':').slice(0, 5).join(':');
}

/** Whether `ref` is something KMS takes as a KeyId; aliases are told apart. */
export function classifyReference(ref: string): 'alias' | 'key' | undefined {
  if (ALIAS_NAME.test(ref) || ALIAS_ARN.test(ref)) return ref.includes('alias/aws/') ? undefined : 'alias';
  if (KEY_ARN.test(ref) || KEY_ID.test(ref)) return 'key';
  return undefined;
}

/** The reference of `keyId`, or KeyNotFound when a `keys` map does not name it. */
export function referenceOf(keyId: string, keys: Readonly<Record<string, string>> | undefined): KeyReference {
  if (keys !== undefined) {
    if (!Object.hasOwn(keys, keyId)) {
      throw new KeyNotFound(`aws-kms: key '${keyId}' is not in the provider's keys`);
    }
    const ref = keys[keyId] as string;
    return { keyId, ref, isAlias: classifyReference(ref) === 'alias' };
  }
  const ref = `alias/${keyId}`;
  if (!ALIAS_NAME.test(ref) || ref.startsWith('alias/aws/')) {
    throw new InvalidArgument(
      "aws-kms: without a keys map, key ids are KMS alias names: 1 to 250 of A-Z a-z 0-9 / _ - (not starting with 'aws/')",
    );
  }
  return { keyId, ref, isAlias: true };
}

/** The alias name of a reference (for CreateAlias), or undefined when it names a key directly. */
export function aliasNameOf(reference: KeyReference): string | undefined {
  if (!reference.isAlias) return undefined;
  const at = reference.ref.indexOf('alias/');
  return reference.ref.slice(at);
}
