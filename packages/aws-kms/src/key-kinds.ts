import type { KeyMetadata as KmsKeyMetadata } from '@aws-sdk/client-kms';
import type { KeyResolver } from './resolver.js';

/**
 * How a KMS key is used here: `symmetric` (SYMMETRIC_DEFAULT: KMS wraps,
 * envelope-keys.ts) or `rsa` (RSA_2048/3072/4096 with KeyUsage
 * ENCRYPT_DECRYPT: wrapped locally to its public key, asymmetric.ts). Any
 * other key goes the symmetric way, where KMS refuses it
 * (InvalidKeyUsageException, our UnsupportedOperation).
 */
export type KeyKind = 'symmetric' | 'rsa';

const RSA_SPECS = new Set(['RSA_2048', 'RSA_3072', 'RSA_4096']);

export function kindOfMetadata(metadata: KmsKeyMetadata): KeyKind {
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  return metadata.KeyUsage === 'ENCRYPT_DECRYPT' && spec !== undefined && RSA_SPECS.has(spec)
    ? 'rsa'
    : 'symmetric';
}

export interface KnownKind {
  readonly kind: KeyKind;
  readonly arn: string;
  /** KMS's KeyState when DescribeKey last answered for this reference, if it did. */
  readonly state?: string;
}

/**
 * The kind of the key a reference names, learnt from DescribeKey. A key's
 * spec and usage never change, so the kind is kept per key ARN for good; the
 * reference's ARN is the resolver's (believed RESOLVE_TTL_MS, as for every
 * other use), so an alias re-pointed to a key of the other kind is followed
 * once that expires.
 */
export class KeyKinds {
  readonly #resolver: KeyResolver;
  readonly #kinds = new Map<string, KeyKind>();
  readonly #states = new Map<string, string | undefined>();

  constructor(resolver: KeyResolver) {
    this.#resolver = resolver;
  }

  /** From the cache when the reference's ARN and its kind are known; else DescribeKey (errors: the SDK's). */
  async of(ref: string): Promise<KnownKind> {
    const arn = this.#resolver.cached(ref);
    const kind = arn === undefined ? undefined : this.#kinds.get(arn);
    if (arn !== undefined && kind !== undefined) return { kind, arn, state: this.#states.get(arn) };
    const metadata = await this.#resolver.describe(ref);
    const learnt = kindOfMetadata(metadata);
    this.#kinds.set(metadata.Arn, learnt);
    this.#states.set(metadata.Arn, metadata.KeyState);
    return { kind: learnt, arn: metadata.Arn, state: metadata.KeyState };
  }

  clear(): void {
    this.#kinds.clear();
    this.#states.clear();
  }
}
