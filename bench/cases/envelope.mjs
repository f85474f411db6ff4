// The envelope cases: a Keystore round trip against the Fernet work inside it.

import { keystoreContender } from '../lib/keystore-contender.mjs';
import { check, payloadBytes, sameBytes } from '../lib/payload.mjs';
import { asyncRunner } from '../lib/timing.mjs';

const CONTEXT = { table: 'patients', id: '4711' };

/**
 * Ours: a `Keystore` over the memory provider, one master key, with a context: `encrypt` makes
 * a data key, wraps it, and writes the envelope; `decrypt` opens the envelope, unwraps the data
 * key and decrypts the payload. The baseline: the Fernet round trip of the same data with a key
 * made once, which is the payload work inside an envelope and nothing else (no data key, no
 * wrapping, no envelope). Both run in the same async loop, each operation awaited (the bare
 * round trip as an async function), so the loop's overhead is the same on both sides.
 */
export async function envelopeContenders(core, version) {
  const { Keystore, Fernet, createMemoryProvider, InvalidToken } = core;
  const provider = await createMemoryProvider({ keys: ['k'] });
  const keystore = new Keystore({ provider, defaultKey: 'k' });
  const fernet = new Fernet(Fernet.generateKey());

  return [
    keystoreContender({
      name: `@keystore/core ${version} Keystore, memory provider, with a context`,
      keystore,
      context: CONTEXT,
      InvalidToken,
      extraChecks: (envelope) => [check(envelope.startsWith('ks1.'), 'writes a ks1 envelope')],
    }),
    {
      id: 'bare',
      name: 'bare Fernet (same work without the envelope, same async loop)',
      verify(size) {
        const bytes = payloadBytes(size);
        return [check(sameBytes(fernet.decrypt(fernet.encrypt(bytes)), bytes), 'round trip')];
      },
      runner(size) {
        const bytes = payloadBytes(size);
        return asyncRunner(async () => {
          if (fernet.decrypt(fernet.encrypt(bytes)).length !== size) throw new Error('wrong length');
        });
      },
    },
  ];
}
