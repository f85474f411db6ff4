import { performance } from 'node:perf_hooks';
import { DescribeKeyCommand, type KMSClient, type KeyMetadata as KmsKeyMetadata } from '@aws-sdk/client-kms';
import { commandOptions } from './client.js';
import { isKeyArn } from './names.js';

/** How long an alias's key ARN is believed without asking KMS again. */
export const RESOLVE_TTL_MS = 30_000;

/**
 * Which key ARN a reference (an alias, mostly) names, from DescribeKey or from
 * the key KMS reported using, believed for RESOLVE_TTL_MS. It is a shortcut
 * and a diagnosis aid, never the authority: every wrap and unwrap names the
 * reference itself to KMS, so KMS resolves the alias at the moment of the
 * call; the cache lets an envelope of another key be refused without a
 * Decrypt, and is refreshed before it is trusted to refuse one.
 */
export class KeyResolver {
  readonly #client: KMSClient;
  readonly #ttlMs: number;
  readonly #arns = new Map<string, { arn: string; until: number }>();

  constructor(client: KMSClient, ttlMs = RESOLVE_TTL_MS) {
    this.#client = client;
    this.#ttlMs = ttlMs;
  }

  /** The ARN believed for `ref`, if learnt within the TTL. */
  cached(ref: string): string | undefined {
    const entry = this.#arns.get(ref);
    if (entry === undefined) return undefined;
    if (performance.now() < entry.until) return entry.arn;
    this.#arns.delete(ref);
    return undefined;
  }

  /** What KMS answered a call made through `ref` with (the key it used). */
  note(ref: string, arn: string): void {
    this.#arns.set(ref, { arn, until: performance.now() + this.#ttlMs });
  }

  /** The ARN of `ref`: from the cache within the TTL (`fresh: false`), else from DescribeKey now. */
  async resolve(ref: string): Promise<{ arn: string; fresh: boolean }> {
    const cached = this.cached(ref);
    if (cached !== undefined) return { arn: cached, fresh: false };
    return { arn: (await this.describe(ref)).Arn, fresh: true };
  }

  /** DescribeKey now (never from the cache); the answer refreshes the cache. */
  async describe(ref: string): Promise<KmsKeyMetadata & { Arn: string }> {
    const out = await this.#client.send(new DescribeKeyCommand({ KeyId: ref }), commandOptions());
    const metadata = out.KeyMetadata;
    if (metadata?.Arn === undefined || !isKeyArn(metadata.Arn)) {
      throw Object.assign(new Error('DescribeKey answered without a key ARN'), { name: 'MalformedAnswer' });
    }
    this.note(ref, metadata.Arn);
    return metadata as KmsKeyMetadata & { Arn: string };
  }

  clear(): void {
    this.#arns.clear();
  }
}
