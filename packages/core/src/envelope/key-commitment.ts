import { hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The key commitment of a version 2 envelope (docs/envelope-format.md,
 * "Several recipients"): HKDF-SHA256 of the data key with an empty salt and
 * the label below. Every recipient wraps the same data key; a reader uses a
 * data key only when its commitment is the header's, so two readers opening
 * one envelope through two recipients always read the same plaintext. The
 * commitment is a one-way function of the key and tells nothing about it.
 */
const INFO = Buffer.from('keystore/v2 key commitment', 'utf8');
export const COMMITMENT_LENGTH = 32;

export function keyCommitment(dataKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', dataKey, Buffer.alloc(0), INFO, COMMITMENT_LENGTH));
}

/** Whether `dataKey` is the one `commitment` names (constant time). */
export function commitsTo(commitment: Uint8Array, dataKey: Uint8Array): boolean {
  const actual = keyCommitment(dataKey);
  return actual.length === commitment.length && timingSafeEqual(actual, commitment);
}
