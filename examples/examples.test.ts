import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The examples the README runs must run, and say what the README says they show. */
function run(name: string): string {
  const file = fileURLToPath(new URL(name, import.meta.url));
  const result = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('examples', () => {
  it('keystore-file.mjs: the file-provider flow end to end', () => {
    const out = run('keystore-file.mjs');
    expect(out).toContain('"provider":"file","keyId":"patients","version":1');
    expect(out).toContain('rotated the key; new encryptions use version 2');
    expect(out).toContain('the old record still decrypts: blood type AB+, allergic to penicillin');
    expect(out).toContain('but not with another context: InvalidToken');
    expect(out).toContain('re-encrypted to version 2');
    expect(out).toContain('still on version 1 and decrypts: blood type O-');
    expect(out).toContain('reopened from the file: blood type AB+');
    expect(out).toContain('changed the keystore password; the old one now gives AccessDenied');
    expect(out).toContain('with the new one, the old records decrypt: blood type AB+');
  });

  it('ciphers.mjs: Fernet, MultiFernet rotation, RSA-OAEP and its hybrid mode', () => {
    const out = run('ciphers.mjs');
    expect(out).toContain('decrypted          patient 4711: blood type AB+');
    expect(out).toContain('timestamp kept     true');
    expect(out).toContain('256 bytes -> card 4111-1111-1111-1111');
    expect(out).toContain('round trip ok: true');
  });

  it('custom-provider.mjs: a provider written against @keystore/core/provider alone passes the suite', () => {
    const out = run('custom-provider.mjs');
    expect(out).toContain('envelope names {"provider":"table","keyId":"patients","version":1');
    expect(out).toContain('decrypted: blood type AB+');
    expect(out).toContain('a typo in its configuration: ConfigError: invalid configuration:');
    expect(out).toContain("unknown field 'namspace'");
    expect(out).toMatch(/conformance: \d+ passed, 0 failed, \d+ skipped/);
  });

  it('several-recipients.mjs: one envelope, two keystore files, add and remove', () => {
    const out = run('several-recipients.mjs');
    expect(out).toContain(
      '1. one envelope, ks2., recipients: [{"provider":"file","keyId":"patients","version":1},{"provider":"file","keyId":"patients-bg","version":1}]',
    );
    expect(out).toContain('2. the break-glass keystore alone reads: blood type AB+');
    expect(out).toContain(
      "3. a keystore of other keys: KeyNotFound: the envelope was made for file key 'patients', file key 'patients-bg'",
    );
    expect(out).toContain('4. main removed: ks1., payload unchanged: true');
    expect(out).toContain('5. main added back: ks2., and it reads: blood type AB+');
  });
});
