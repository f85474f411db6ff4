// The README's first command runs this: the whole keystore flow on the embedded `file` provider.
// A local keystore file (like a Java keystore), keys encrypted under a password-derived master key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeFileKeystoreSecret, createKeystore } from '@keystore/core';

const text = (bytes) => new TextDecoder().decode(bytes);
const dir = mkdtempSync(join(tmpdir(), 'keystore-demo-'));
// Secrets in configuration are references; this demo sets the variable itself.
process.env.KEYSTORE_DEMO_PASSWORD ??= 'correct horse battery staple';

const config = {
  provider: {
    type: 'file',
    path: join(dir, 'demo.keystore.json'),
    password: { env: 'KEYSTORE_DEMO_PASSWORD' },
    create: true,
  },
  defaultKey: 'patients',
};

try {
  console.log('1. create a keystore file and a key (scrypt at OWASP cost derives the master key)');
  const ks = await createKeystore(config);
  await ks.createKey('patients', { description: 'patient records' });

  const context = { table: 'patients', id: '4711' };
  const record = await ks.encrypt('blood type AB+, allergic to penicillin', { context });
  const second = await ks.encrypt('blood type O-', { context: { table: 'patients', id: '4712' } });
  console.log('2. encrypted a record under', JSON.stringify(ks.inspect(record)), `(${record.length} chars)`);

  const rotated = await ks.rotate('patients');
  console.log('3. rotated the key; new encryptions use version', rotated.latestVersion);

  console.log('4. the old record still decrypts:', text(await ks.decrypt(record, { context })));
  try {
    await ks.decrypt(record, { context: { table: 'patients', id: '9999' } });
  } catch (error) {
    console.log('   ...but not with another context:', error.code);
  }

  const moved = await ks.reencrypt(record, { context });
  console.log('5. re-encrypted to version', ks.inspect(moved).version, 'without exposing the plaintext');
  console.log('   and it decrypts:', text(await ks.decrypt(moved, { context })));

  console.log(
    '6. the record not re-encrypted is still on version',
    ks.inspect(second).version,
    'and decrypts:',
    text(await ks.decrypt(second, { context: { table: 'patients', id: '4712' } })),
  );
  await ks.close();

  const reopened = await createKeystore(config);
  console.log('7. reopened from the file:', text(await reopened.decrypt(moved, { context })));
  await reopened.close();

  // Someone who knew the password leaves: re-encrypt the keystore under a new one.
  await changeFileKeystoreSecret({
    path: config.provider.path,
    password: process.env.KEYSTORE_DEMO_PASSWORD,
    newPassword: 'a new password, from your secret manager',
  });
  try {
    await createKeystore(config);
  } catch (error) {
    console.log('8. changed the keystore password; the old one now gives', error.code);
  }
  process.env.KEYSTORE_DEMO_PASSWORD = 'a new password, from your secret manager';
  const afterChange = await createKeystore(config);
  console.log(
    '   with the new one, the old records decrypt:',
    text(await afterChange.decrypt(record, { context })),
  );
  await afterChange.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
