import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The least of packages/blackbox's test builder (test/support/blackbox-repo.ts)
 * a conformance run needs: a repository as blackbox_initialize and one
 * blackbox_addadmin make it, with one Curve25519 admin. Copied, not imported:
 * that file lies outside this package's rootDir.
 */
export interface MiniBlackboxRepo {
  readonly root: string;
  readonly armoredSecretKey: string;
  readonly passphrase: string;
  remove(): void;
}

function gpgIn(gpgBin: string, home: string, args: string[], input?: string | Uint8Array): Buffer {
  const run = spawnSync(gpgBin, ['--no-permission-warning', '--homedir', home, '--batch', '--yes', ...args], {
    input,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`gpg ${args[0]} failed (${run.status ?? run.signal})`);
  return run.stdout;
}

export function buildMiniBlackboxRepo(gpgBin: string): MiniBlackboxRepo {
  const adminHome = mkdtempSync(join(tmpdir(), 'rconf-gnupg-'));
  chmodSync(adminHome, 0o700); // agents refuse a home others can read
  const root = mkdtempSync(join(tmpdir(), 'rconf-bbrepo-'));
  const data = join(root, '.blackbox');
  const remove = () => {
    for (const home of [adminHome, data]) {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { timeout: 10_000 });
    }
    rmSync(adminHome, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };
  try {
    mkdirSync(data, { recursive: true });
    const email = 'one@example.com';
    writeFileSync(join(data, 'blackbox-admins.txt'), `${email}\n`);
    writeFileSync(join(data, 'blackbox-files.txt'), '');
    const passphrase = randomBytes(12).toString('hex');
    const loopback = ['--pinentry-mode', 'loopback', '--passphrase', passphrase];
    gpgIn(gpgBin, adminHome, [
      ...loopback,
      '--quick-gen-key',
      `Admin 0 <${email}>`,
      'future-default',
      'default',
      'never',
    ]);
    const armoredSecretKey = gpgIn(gpgBin, adminHome, [
      ...loopback,
      '--export-secret-keys',
      '--armor',
      email,
    ]).toString();
    gpgIn(gpgBin, data, ['--import'], gpgIn(gpgBin, adminHome, ['--export', '--armor', email]));
    return { root, armoredSecretKey, passphrase, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
