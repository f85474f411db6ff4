import type { KmsKeyState } from './errors.js';
import type { KeyResolver } from './resolver.js';

const STATES: Record<string, KmsKeyState> = {
  Disabled: 'disabled',
  PendingDeletion: 'pending-deletion',
  PendingReplicaDeletion: 'pending-deletion',
  PendingImport: 'pending-import',
  Unavailable: 'unavailable',
};

/**
 * Why KMS refused a key as disabled or in an invalid state, from DescribeKey
 * (KMS's own message says it, but its text never reaches ours). Undefined
 * when DescribeKey fails too: the error then says "not in a state that allows".
 */
export async function keyStateOf(resolver: KeyResolver, ref: string): Promise<KmsKeyState | undefined> {
  try {
    const state = (await resolver.describe(ref)).KeyState;
    return state === undefined ? undefined : (STATES[state] ?? 'invalid-state');
  } catch {
    return undefined;
  }
}
