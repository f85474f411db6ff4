// The "ours" contender of the round-trip cases: a Keystore's encrypt then decrypt with a context,
// each awaited, verified before timing to round-trip and to refuse another context.

import { check, payloadBytes, sameBytes } from './payload.mjs';
import { asyncRunner } from './timing.mjs';

/**
 * `keystore` encrypts and decrypts `size` bytes under `context`; `InvalidToken` is the class its
 * refusal of another context must be. `extraChecks(envelope)` adds checks of the envelope made
 * during verification (for instance its format).
 */
export function keystoreContender({ id = 'ours', name, keystore, context, InvalidToken, extraChecks }) {
  const roundTrip = async (bytes) =>
    keystore.decrypt(await keystore.encrypt(bytes, { context }), { context });
  return {
    id,
    name,
    async verify(size) {
      const bytes = payloadBytes(size);
      const envelope = await keystore.encrypt(bytes, { context });
      let refused = false;
      try {
        await keystore.decrypt(envelope, { context: { ...context, id: `${context.id}-other` } });
      } catch (error) {
        refused = error instanceof InvalidToken;
      }
      return [
        check(sameBytes(await roundTrip(bytes), bytes), 'round trip'),
        ...(extraChecks === undefined ? [] : extraChecks(envelope)),
        check(refused, 'refuses another context'),
      ];
    },
    runner(size) {
      const bytes = payloadBytes(size);
      return asyncRunner(async () => {
        if ((await roundTrip(bytes)).length !== size) throw new Error('wrong length');
      });
    },
  };
}
