// GnuPG 2.2 from Debian's gnupg package and a throwaway GNUPGHOME (mode 0700) under .run/.
// There is no server: gpg starts its own gpg-agent on demand. `down` kills the agents that
// belong to this GNUPGHOME (gpgconf --kill all, then any left by name) and removes it.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall, which } from '../install.mjs';
import { InfraError, step, warn } from '../log.mjs';
import { capture, processesMentioning } from '../proc.mjs';
import { paths, removeServiceDir, writeState } from '../state.mjs';

const title = 'GnuPG';

async function version(gpg) {
  const { code, stdout, stderr } = await capture(gpg, ['--version']);
  if (code !== 0) throw new Error(`${gpg} --version failed: ${stderr.trim()}`);
  return stdout.match(/gpg \(GnuPG\) (\S+)/)?.[1] ?? 'unknown';
}

export default {
  name: 'gpg',
  title,
  hasProcess: false,

  async install() {
    if (which('gpg') && which('gpgconf') && which('gpg-agent')) return;
    await aptInstall('gpg', ['gnupg']);
  },

  async start() {
    const gpg = which('gpg');
    const p = paths('gpg');
    removeServiceDir('gpg');
    const home = join(p.dir, 'home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    chmodSync(p.dir, 0o700);
    chmodSync(home, 0o700);
    if (Buffer.byteLength(join(home, 'S.gpg-agent.browser')) > 100) {
      warn('gpg', `GNUPGHOME ${home} is long; gpg-agent's socket path may exceed the 107-byte limit`);
    }
    // Tests run gpg non-interactively: let --pinentry-mode loopback pass passphrases.
    writeFileSync(join(home, 'gpg-agent.conf'), 'allow-loopback-pinentry\n', { mode: 0o600 });
    writeFileSync(join(home, 'gpg.conf'), 'no-greeting\nbatch\n', { mode: 0o600 });
    const { code, stderr } = await capture(gpg, ['--homedir', home, '--list-keys']);
    if (code !== 0)
      throw new InfraError('gpg', `gpg --list-keys in the new GNUPGHOME failed: ${stderr.trim()}`);
    const state = {
      service: 'gpg',
      gnupghome: home,
      gpgBin: gpg,
      version: await version(gpg),
      startedAt: new Date().toISOString(),
    };
    writeState('gpg', state);
    step('gpg', `${title} ${state.version} ready, GNUPGHOME=${home}`);
    return state;
  },

  async check(state) {
    if (!existsSync(state.gnupghome)) throw new Error(`GNUPGHOME ${state.gnupghome} is gone`);
    await version(state.gpgBin);
    return true;
  },

  isUp(state) {
    return Boolean(state?.gnupghome && existsSync(state.gnupghome));
  },

  async stop(state) {
    const home = state?.gnupghome ?? join(paths('gpg').dir, 'home');
    if (existsSync(home)) {
      const gpgconf = which('gpgconf');
      if (gpgconf) await capture(gpgconf, ['--homedir', home, '--kill', 'all']);
      for (const pid of processesMentioning(home)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    return processesMentioning(home);
  },

  env(state) {
    return { GNUPGHOME: state.gnupghome, GPG_BIN: state.gpgBin, GPG_VERSION: state.version };
  },
};
