import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requireService } from '../vitest/services.js';

const gpg = await requireService('gpg');

function run(args: string[], input?: string) {
  const result = spawnSync(gpg.env.GPG_BIN as string, ['--batch', '--yes', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, GNUPGHOME: gpg.env.GNUPGHOME },
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describe.skipIf(gpg.skip)('GnuPG from test-infra', () => {
  it('runs GnuPG 2.2+ with a private GNUPGHOME', () => {
    expect(run(['--version'])).toMatch(/gpg \(GnuPG\) 2\.(2|[3-9])/);
    expect(gpg.env.GNUPGHOME).toBeTruthy();
  });

  it('generates a key without passphrase and round-trips encrypt/decrypt', () => {
    const email = `smoke-${randomUUID()}@test-infra.invalid`;
    run(
      ['--gen-key'],
      [
        '%no-protection',
        'Key-Type: eddsa',
        'Key-Curve: ed25519',
        'Key-Usage: sign',
        'Subkey-Type: ecdh',
        'Subkey-Curve: cv25519',
        'Subkey-Usage: encrypt',
        `Name-Real: test-infra smoke`,
        `Name-Email: ${email}`,
        'Expire-Date: 0',
        '%commit',
        '',
      ].join('\n'),
    );
    const armored = run(
      ['--armor', '--trust-model', 'always', '--recipient', email, '--encrypt'],
      'hello gpg',
    );
    expect(armored).toContain('-----BEGIN PGP MESSAGE-----');
    expect(run(['--decrypt'], armored)).toBe('hello gpg');
  });
});
