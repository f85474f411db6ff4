import { IN_PLACE_VERSION, type KeyMetadata } from '@keystore/core';
import { check, checkEqual, describeError, fail, step } from '../assert.js';
import { bytesEqual, randomHex, utf8 } from '../bytes.js';
import { defineTest } from './helpers.js';

const MESSAGES = 300;
const ROTATIONS = 5;
/**
 * In-place rotations run one after another, and fewer: AWS KMS refuses an
 * on-demand rotation while another of the key is in progress, and allows a
 * few per key in its lifetime.
 */
const IN_PLACE_ROTATIONS = 2;

/** Settles every promise; fails naming how many rejected and the first reason. */
async function all<T>(what: string, promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected.length > 0) {
    const first = rejected[0]?.reason;
    fail(
      `${rejected.length} of ${promises.length} ${what} failed; the first: ${describeError(first)}`,
      first,
    );
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

export const concurrencyTests = [
  defineTest({
    name: `concurrent use: ${MESSAGES} encrypts and decrypts with concurrent rotations`,
    group: 'concurrency',
    requires: ['keystore', 'key'],
    description: `${MESSAGES} parallel encrypts through the Keystore while ${ROTATIONS} rotations run (when the provider can rotate), then ${MESSAGES} parallel decrypts: every envelope decrypts to its own plaintext, no rotation is lost and the versions stay contiguous. In place: ${IN_PLACE_ROTATIONS} rotations one after another, and every envelope and rotation at the constant version.`,
    async run(ctx) {
      const keystore = await ctx.keystore();
      const canRotate = ctx.capabilities.createKey && ctx.capabilities.rotateKey;
      const inPlace = ctx.versioning === 'in-place';
      const key = canRotate ? await ctx.createKey('concurrent') : await ctx.key();
      const run = randomHex(4);
      const plaintexts = Array.from({ length: MESSAGES }, (_, i) => `message ${i} of run ${run}`);
      const contexts = plaintexts.map((_, i) => ({ message: String(i), run }));

      const rotations: Promise<KeyMetadata>[] = [];
      const encrypts: Promise<string>[] = [];
      let previous: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < MESSAGES; i++) {
        encrypts.push(keystore.encrypt(plaintexts[i] as string, { key, context: contexts[i] }));
        if (inPlace && canRotate && i % Math.floor(MESSAGES / IN_PLACE_ROTATIONS) === 0) {
          // Each after the one before (whatever its outcome), still while the encrypts run.
          const rotation = previous.catch(() => undefined).then(() => keystore.rotate(key));
          rotations.push(rotation);
          previous = rotation;
        } else if (!inPlace && canRotate && i % Math.floor(MESSAGES / ROTATIONS) === 0) {
          if (rotations.length < ROTATIONS) rotations.push(keystore.rotate(key));
        }
      }
      const envelopes = await all('parallel encrypts', encrypts);
      const rotated = await all('concurrent rotations', rotations);

      const decrypted = await all(
        'parallel decrypts',
        envelopes.map((envelope, i) => keystore.decrypt(envelope, { context: contexts[i] })),
      );
      const wrong = decrypted.filter((bytes, i) => !bytesEqual(bytes, utf8(plaintexts[i] as string)));
      check(wrong.length === 0, `${wrong.length} of ${MESSAGES} envelopes decrypted to another plaintext`);

      const versions = envelopes.map((envelope) => keystore.inspect(envelope).version);
      const lowest = Math.min(...versions);
      const highest = Math.max(...versions);
      if (canRotate && inPlace) {
        const answered = rotated.map((m) => m.latestVersion);
        check(
          answered.every((v) => v === IN_PLACE_VERSION),
          `in-place rotations answered versions ${answered.join(', ')}, not ${IN_PLACE_VERSION}`,
        );
        checkEqual(lowest, IN_PLACE_VERSION, 'in place: the lowest envelope version');
        checkEqual(highest, IN_PLACE_VERSION, 'in place: the highest envelope version');
        const fresh = await step('encrypt after the rotations', keystore.encrypt('last', { key }));
        checkEqual(
          keystore.inspect(fresh).version,
          IN_PLACE_VERSION,
          'in place: an envelope made after the rotations',
        );
      } else if (canRotate) {
        const after = rotated.map((m) => m.latestVersion).sort((a, b) => a - b);
        check(
          new Set(after).size === after.length,
          `concurrent rotations reported the same version: ${after.join(', ')} (a rotation was lost)`,
        );
        const newest = after[after.length - 1] ?? 1;
        checkEqual(
          newest,
          1 + ROTATIONS,
          `latest version after ${ROTATIONS} concurrent rotations of a new key`,
        );
        check(highest <= newest, `an envelope names version ${highest}, newer than the newest (${newest})`);
        if (ctx.capabilities.listVersions) {
          const listed = (await step('listVersions', ctx.provider.listVersions(key))).map((v) => v.version);
          checkEqual(
            listed.join(','),
            Array.from({ length: newest }, (_, i) => i + 1).join(','),
            'listVersions after concurrent rotations',
          );
        }
        const fresh = await step('encrypt after the rotations', keystore.encrypt('last', { key }));
        checkEqual(
          keystore.inspect(fresh).version,
          newest,
          'the version of an envelope made after the rotations',
        );
      } else {
        checkEqual(lowest, highest, 'envelopes made without rotation must all name one version');
      }
    },
  }),
];
