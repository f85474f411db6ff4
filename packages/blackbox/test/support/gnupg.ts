import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway GNUPGHOME of one test: the shared one of test-infra is never written to. */
export interface GnupgHome {
  readonly dir: string;
  /** Runs gpg in this home with --batch; throws with gpg's stderr (test keys only) on failure. */
  gpg(args: string[], input?: string | Uint8Array): Buffer;
  /** The `fpr` lines of `gpg --with-colons --list-keys`, in gpg's order. */
  fingerprints(extra?: string[]): string[];
  /** Stops the agent this home started and removes the home. */
  remove(): void;
}

export function createGnupgHome(gpgBin: string): GnupgHome {
  const dir = mkdtempSync(join(tmpdir(), 'keybox-gnupg-'));
  chmodSync(dir, 0o700); // gpg warns about, and agents refuse, a home others can read
  const gpg = (args: string[], input?: string | Uint8Array): Buffer => {
    const run = spawnSync(gpgBin, ['--homedir', dir, '--batch', '--yes', ...args], {
      input,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (run.status !== 0) {
      throw new Error(`gpg ${args[0]} failed (${run.status ?? run.signal}): ${run.stderr?.toString() ?? ''}`);
    }
    return run.stdout;
  };
  return {
    dir,
    gpg,
    fingerprints: (extra = []) =>
      gpg([...extra, '--with-colons', '--list-keys'])
        .toString('utf8')
        .split('\n')
        .filter((line) => line.startsWith('fpr:'))
        .map((line) => line.split(':')[9] ?? ''),
    remove: () => {
      spawnSync('gpgconf', ['--homedir', dir, '--kill', 'all'], { timeout: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `--quick-gen-key` without a passphrase, as the task of the test needs it; returns the primary fingerprint. */
export function generateKey(home: GnupgHome, userId: string, algo: string, usage: string): string {
  const before = new Set(home.fingerprints());
  home.gpg([
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    userId,
    algo,
    usage,
    'never',
  ]);
  const added = home.fingerprints().filter((f) => !before.has(f));
  if (!added[0]) throw new Error(`gpg made no key for ${userId}`);
  return added[0];
}
