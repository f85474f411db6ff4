// Envelopes that any one of several keys opens: a main keystore file, and a break-glass keystore
// file kept offline. The README's "Several recipients" section, runnable, without any server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeystore } from '@keystore/core';

const text = (bytes) => new TextDecoder().decode(bytes);
const dir = mkdtempSync(join(tmpdir(), 'keystore-recipients-'));
const env = { MAIN_PASSWORD: 'main keystore password', GLASS_PASSWORD: 'break-glass password' };
// A low scrypt cost keeps the demo fast; use the default (OWASP's) for real keystores.
const kdf = { name: 'scrypt', N: 2 ** 14 };
const main = {
  type: 'file',
  path: join(dir, 'main.json'),
  password: { env: 'MAIN_PASSWORD' },
  create: true,
  kdf,
};
const glass = {
  type: 'file',
  path: join(dir, 'glass.json'),
  password: { env: 'GLASS_PASSWORD' },
  create: true,
  kdf,
};

try {
  const ks = await createKeystore(
    {
      recipients: [
        { name: 'main', provider: main, key: 'patients' },
        { name: 'break-glass', provider: glass, key: 'patients-bg' },
      ],
    },
    { env },
  );
  await ks.createKey('patients');
  await ks.createKey('patients-bg');
  const context = { table: 'patients', id: '4711' };
  const envelope = await ks.encrypt('blood type AB+', { context });
  console.log(
    `1. one envelope, ${envelope.slice(0, 4)}, recipients:`,
    JSON.stringify(ks.inspect(envelope).recipients),
  );

  // A reader holding only the break-glass keystore opens it.
  const bg = await createKeystore(
    { provider: { ...glass, create: false }, defaultKey: 'patients-bg' },
    { env },
  );
  console.log('2. the break-glass keystore alone reads:', text(await bg.decrypt(envelope, { context })));

  // A reader holding none of its keys is told which keys the envelope names.
  const wrongMain = await createKeystore(
    { provider: { type: 'memory', keys: ['patients'] }, defaultKey: 'patients' },
    { env },
  );
  const error = await wrongMain.decrypt(envelope, { context }).catch((e) => e);
  console.log(`3. a keystore of other keys: ${error.code}: ${error.message}`);

  // Removing the main recipient leaves a v1 envelope for break-glass only; the payload is untouched.
  const bgOnly = await ks.removeRecipient(envelope, 'main', { context });
  const samePayload = bgOnly.slice(bgOnly.lastIndexOf('.')) === envelope.slice(envelope.lastIndexOf('.'));
  console.log(`4. main removed: ${bgOnly.slice(0, 4)}, payload unchanged: ${samePayload}`);
  const back = await ks.addRecipient(bgOnly, 'main', { context });
  console.log(
    `5. main added back: ${back.slice(0, 4)}, and it reads:`,
    text(await ks.decrypt(back, { context })),
  );
  await Promise.all([ks.close(), bg.close(), wrongMain.close()]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
