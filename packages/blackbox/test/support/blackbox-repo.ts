import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGnupgHome, type GnupgHome } from './gnupg.js';

/**
 * A Blackbox repository built with the real gpg the way Blackbox v1's scripts
 * build one (docs/blackbox-layout.md), step for step: blackbox_initialize,
 * blackbox_addadmin per admin (`sort -fdu` of the admins, the admin's
 * exported public key imported with `gpg --homedir=<data>`), and
 * blackbox_register_new_file per file (`gpg --encrypt -r` every admin's first
 * field, `sort -u` of the files list, the `/path` line in .gitignore, the
 * plaintext removed). The sorts are the real `sort` under LC_ALL=C, as the
 * scripts run it. Only `--trust-model=always` differs: the scripts' gpg asks.
 */
export interface AdminSpec {
  /** The admin line: an e-mail address, as `blackbox_addadmin tal@example.com`. */
  readonly email: string;
  readonly algo: 'rsa' | 'curve25519';
}

export interface BuiltAdmin {
  readonly email: string;
  readonly fingerprint: string;
  readonly passphrase: string;
  /** `gpg --export-secret-keys --armor`, protected by `passphrase`. */
  readonly armoredSecretKey: string;
}

export interface BuildOptions {
  readonly dataDir?: '.blackbox' | 'keyrings/live';
  /** A repository from before GnuPG 2.1: the data directory holds `pubring.gpg`, not a keybox. */
  readonly legacyPubring?: boolean;
  readonly admins: readonly AdminSpec[];
  /** Paths relative to the root, and their plaintext. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
}

export interface BuiltRepo {
  readonly root: string;
  readonly dataDir: string;
  readonly admins: readonly BuiltAdmin[];
  /** The admins' own keyring, with their secret keys: stands for each admin's ~/.gnupg. */
  readonly adminHome: GnupgHome;
  /** gpg with `--homedir=<data dir>`, as Blackbox's scripts run it on the repository's keys. */
  dataGpg(args: string[], input?: string | Uint8Array): Buffer;
  /** `gpg --decrypt` of `<path>.gpg` with only that admin's exported secret key and passphrase. */
  decryptAs(admin: BuiltAdmin, path: string): Buffer;
  remove(): void;
}

function run(bin: string, args: string[], input?: string | Uint8Array, env?: NodeJS.ProcessEnv): Buffer {
  const result = spawnSync(bin, args, { input, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${bin} ${args[0]} failed (${result.status ?? result.signal}): ${result.stderr?.toString() ?? ''}`,
    );
  }
  return result.stdout;
}

/** `sort <flags> -o file file` under LC_ALL=C, as the scripts run it. */
const sortInPlace = (file: string, flags: string) =>
  run('sort', [flags, '-o', file, file], undefined, { ...process.env, LC_ALL: 'C' });

export function buildBlackboxRepo(gpgBin: string, options: BuildOptions): BuiltRepo {
  const adminHome = createGnupgHome(gpgBin);
  const root = mkdtempSync(join(tmpdir(), 'bbrepo-server-'));
  const dataDir = options.dataDir ?? '.blackbox';
  const data = join(root, dataDir);
  const dataGpg = (args: string[], input?: string | Uint8Array) =>
    run(gpgBin, ['--no-permission-warning', `--homedir=${data}`, '--batch', '--yes', ...args], input);
  const ownHomes = new Map<string, GnupgHome>();
  const remove = () => {
    for (const home of ownHomes.values()) home.remove();
    spawnSync('gpgconf', ['--homedir', data, '--kill', 'all'], { timeout: 10_000 });
    adminHome.remove();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // blackbox_initialize
    mkdirSync(data, { recursive: true });
    const admins = join(data, 'blackbox-admins.txt');
    const files = join(data, 'blackbox-files.txt');
    writeFileSync(admins, '');
    writeFileSync(files, '');
    writeFileSync(
      join(data, '.gitattributes'),
      'blackbox-admins.txt text eol=lf\nblackbox-files.txt text eol=lf\n',
    );
    const gitignore = join(root, '.gitignore');
    for (const name of ['pubring.gpg~', 'pubring.kbx~', 'secring.gpg'])
      ignore(gitignore, `${dataDir}/${name}`);

    // blackbox_addadmin, once per admin
    const built: BuiltAdmin[] = [];
    options.admins.forEach((spec, index) => {
      const passphrase = randomBytes(12).toString('hex');
      const loopback = ['--pinentry-mode', 'loopback', '--passphrase', passphrase];
      const [algo, usage] = spec.algo === 'rsa' ? ['rsa2048', 'encr,sign'] : ['future-default', 'default'];
      adminHome.gpg([...loopback, '--quick-gen-key', `Admin ${index} <${spec.email}>`, algo, usage, 'never']);
      const colons = adminHome.gpg(['--with-colons', '--list-keys', spec.email]).toString('utf8');
      const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(colons)?.[1] ?? '';
      const armoredSecretKey = adminHome
        .gpg([...loopback, '--export-secret-keys', '--armor', fingerprint])
        .toString();
      built.push({ email: spec.email, fingerprint, passphrase, armoredSecretKey });

      appendFileSync(admins, `${spec.email}\n`);
      sortInPlace(admins, '-fdu');
      const exported = adminHome.gpg(['--export', '--armor', spec.email]);
      if (options.legacyPubring && index === 0) {
        // gpg 2.2 makes a new keyring a keybox unless told `gnupg-ring:`; a home with
        // pubring.gpg (and no pubring.kbx) then keeps using it, as a gpg 1.x repository does.
        dataGpg(
          ['--no-default-keyring', '--keyring', `gnupg-ring:${join(data, 'pubring.gpg')}`, '--import'],
          exported,
        );
      } else {
        dataGpg(['--import'], exported);
      }
    });

    // blackbox_register_new_file, once per file
    const recipients = () =>
      readFileSync(admins, 'utf8')
        .split('\n')
        .map((line) => line.split(/[ \t]+/).find((f) => f !== ''))
        .filter((f): f is string => f !== undefined)
        .flatMap((admin) => ['-r', admin]);
    for (const [path, content] of Object.entries(options.files ?? {})) {
      const plain = join(root, path);
      mkdirSync(dirname(plain), { recursive: true });
      writeFileSync(plain, content);
      dataGpg(['--trust-model=always', '--encrypt', '-o', `${plain}.gpg`, ...recipients(), plain]);
      if (!readFileSync(files, 'utf8').split('\n').includes(path)) {
        appendFileSync(files, `${path}\n`);
        sortInPlace(files, '-u');
      }
      ignore(gitignore, path);
      rmSync(plain);
    }

    return {
      root,
      dataDir,
      admins: built,
      adminHome,
      dataGpg,
      decryptAs: (admin, path) => {
        // A home with this admin's exported secret key alone: what a deploy host configured with it has.
        let home = ownHomes.get(admin.email);
        if (!home) {
          home = createGnupgHome(gpgBin);
          ownHomes.set(admin.email, home);
          home.gpg(
            ['--pinentry-mode', 'loopback', '--passphrase', admin.passphrase, '--import'],
            admin.armoredSecretKey,
          );
        }
        const loopback = ['--pinentry-mode', 'loopback', '--passphrase', admin.passphrase];
        return home.gpg([...loopback, '--decrypt', join(root, `${path}.gpg`)]);
      },
      remove,
    };
  } catch (error) {
    remove();
    throw error;
  }
}

/** vcs_ignore_generic_file: `/path`, `*` and `?` escaped, appended unless there. */
function ignore(gitignore: string, path: string): void {
  const line = `/${path.replace(/[*?]/g, (c) => `\\${c}`)}`;
  let text = '';
  try {
    text = readFileSync(gitignore, 'utf8');
  } catch {}
  if (!text.split('\n').includes(line)) appendFileSync(gitignore, `${line}\n`);
}
