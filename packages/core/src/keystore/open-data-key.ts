import { timingSafeEqual } from 'node:crypto';
import type { EncryptionContext } from '../context/encryption-context.js';
import type { EnvelopeParts } from '../envelope/envelope-parts.js';
import { commitsTo } from '../envelope/key-commitment.js';
import type { EnvelopeRecipient } from '../envelope/multi-envelope-format.js';
import { InvalidToken } from '../errors/invalid-token.js';
import { attemptCode, NoRecipientOpened } from '../errors/no-recipient-opened.js';
import type { UnwrapKeyInput } from '../provider/key-provider.js';
import type { Candidate, Recipient } from './recipients.js';

const DATA_KEY_LENGTH = 32;

/** An envelope checked against a keystore: its parts, the caller's context, and who may open it. */
export interface OpenedEnvelope extends EnvelopeParts {
  readonly context: EncryptionContext;
  /** The caller's context plus the algorithm: what every recipient's wrap is bound to. */
  readonly wrapContext: EncryptionContext;
  /** The configured recipients that may open it, in the configured order. */
  readonly candidates: readonly Candidate[];
}

export function unwrapInput(entry: EnvelopeRecipient, wrapContext: EncryptionContext): UnwrapKeyInput {
  return { keyId: entry.keyId, version: entry.version, ciphertext: entry.wrappedKey, context: wrapContext };
}

/** Whether an unwrapped key may be used: 32 bytes and, for version 2, the key the header commits to. */
function acceptable(opened: OpenedEnvelope, key: Uint8Array): boolean {
  return (
    key.length === DATA_KEY_LENGTH && (opened.commitment === undefined || commitsTo(opened.commitment, key))
  );
}

type Attempt = readonly [Candidate, unknown];

/**
 * The error when no candidate opened an envelope. A version 1 envelope tried
 * by one recipient fails with that recipient's own error, as a keystore of
 * one provider always has; one that every recipient refused as
 * `InvalidToken` is a plain `InvalidToken`, like any tampered envelope (no
 * list that would tell a bad wrapped key from a bad payload); otherwise
 * every attempt is listed.
 */
function failure(opened: OpenedEnvelope, attempts: readonly Attempt[], what?: string): Error {
  const [only, ...more] = attempts;
  if (only !== undefined && more.length === 0 && opened.format === 1) {
    return only[1] instanceof Error ? only[1] : new InvalidToken();
  }
  // Every recipient refused the envelope itself: one uniform InvalidToken, as for any tampered one.
  if (attempts.every(([, error]) => attemptCode(error) === 'InvalidToken')) return new InvalidToken();
  return new NoRecipientOpened(
    attempts.map(([c, error]) => ({
      recipient: c.recipient.name,
      provider: c.entry.provider,
      keyId: c.entry.keyId,
      version: c.entry.version,
      code: attemptCode(error),
      message: error instanceof Error ? error.message : 'failed',
    })),
    what,
  );
}

/**
 * The data key of an envelope: each candidate in turn until one unwraps a
 * key that may be used. The caller zeroes the key.
 */
export async function openDataKey(
  opened: OpenedEnvelope,
  candidates: readonly Candidate[] = opened.candidates,
  what?: string,
): Promise<Uint8Array> {
  return (await openDataKeyWith(opened, candidates, what)).key;
}

/** `openDataKey`, also saying which candidate opened it (the recipient that holds that entry's key). */
export async function openDataKeyWith(
  opened: OpenedEnvelope,
  candidates: readonly Candidate[] = opened.candidates,
  what?: string,
): Promise<{ key: Uint8Array; candidate: Candidate }> {
  const attempts: Attempt[] = [];
  for (const candidate of candidates) {
    const key = await tryCandidate(opened, candidate).catch((error: unknown) => error);
    if (key instanceof Uint8Array) return { key, candidate };
    attempts.push([candidate, key]);
  }
  throw failure(opened, attempts, what);
}

/** One candidate's data key, if it is the envelope's (32 bytes, committed); else its error. */
async function tryCandidate(opened: OpenedEnvelope, candidate: Candidate): Promise<Uint8Array> {
  const key = await candidate.recipient.provider.unwrapKey(unwrapInput(candidate.entry, opened.wrapContext));
  if (acceptable(opened, key)) return key;
  key.fill(0);
  throw new InvalidToken();
}

/**
 * Which of `candidates` holds `entry`'s key: the first (in the configured
 * order) whose unwrap of it gives `dataKey`. Two recipients of one provider
 * type may both allow a key id; only the backend that made the entry opens it.
 */
export async function ownerOf(
  opened: OpenedEnvelope,
  candidates: readonly Candidate[],
  dataKey: Uint8Array,
): Promise<Candidate | undefined> {
  for (const candidate of candidates) {
    let key: Uint8Array;
    try {
      key = await tryCandidate(opened, candidate);
    } catch (error) {
      // Not this recipient's entry (another backend's key, or a key it no longer has); an
      // unreachable or closed backend might be its owner, and must not be passed over silently.
      if (NOT_OURS.has(attemptCode(error))) continue;
      throw error;
    }
    const same = key.length === dataKey.length && timingSafeEqual(key, dataKey);
    key.fill(0);
    if (same) return candidate;
  }
  return undefined;
}

/** The codes that say an entry is not a recipient's to re-wrap (rather than that it could not be asked). */
const NOT_OURS = new Set(['InvalidToken', 'KeyNotFound', 'AccessDenied']);

/**
 * The data keys of many envelopes, batched: each round sends every envelope
 * still closed to its next candidate, one `unwrapKeys` call per recipient,
 * so the common case (the first recipient opens everything) is one batch per
 * chunk. One result per envelope: its key (the caller zeroes it) or its error.
 */
export async function openDataKeys(opened: readonly OpenedEnvelope[]): Promise<(Uint8Array | Error)[]> {
  const next = opened.map(() => 0);
  const attempts: Attempt[][] = opened.map(() => []);
  const keys = new Array<Uint8Array | undefined>(opened.length);
  let waiting = opened.map((_, i) => i).filter((i) => (opened[i] as OpenedEnvelope).candidates.length > 0);
  while (waiting.length > 0) {
    const rounds = new Map<Recipient, number[]>();
    for (const i of waiting) {
      const recipient = ((opened[i] as OpenedEnvelope).candidates[next[i] as number] as Candidate).recipient;
      const group = rounds.get(recipient);
      if (group === undefined) rounds.set(recipient, [i]);
      else group.push(i);
    }
    await Promise.all(
      [...rounds].map(async ([recipient, group]) => {
        const asked = group.map((i) => {
          const o = opened[i] as OpenedEnvelope;
          return o.candidates[next[i] as number] as Candidate;
        });
        let answers: (Uint8Array | Error)[];
        try {
          answers = await recipient.provider.unwrapKeys(
            group.map((i, j) =>
              unwrapInput((asked[j] as Candidate).entry, (opened[i] as OpenedEnvelope).wrapContext),
            ),
          );
        } catch (error) {
          answers = group.map(() => (error instanceof Error ? error : new InvalidToken()));
        }
        group.forEach((i, j) => {
          const answer = answers[j];
          const o = opened[i] as OpenedEnvelope;
          next[i] = (next[i] as number) + 1;
          if (answer instanceof Uint8Array && acceptable(o, answer)) {
            keys[i] = answer;
            return;
          }
          if (answer instanceof Uint8Array) answer.fill(0);
          (attempts[i] as Attempt[]).push([
            asked[j] as Candidate,
            answer instanceof Error ? answer : new InvalidToken(),
          ]);
        });
      }),
    );
    waiting = waiting.filter(
      (i) => keys[i] === undefined && (next[i] as number) < (opened[i] as OpenedEnvelope).candidates.length,
    );
  }
  return opened.map((o, i) => keys[i] ?? failure(o, attempts[i] as Attempt[]));
}
