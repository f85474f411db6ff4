// The Blackbox case: key fetches per second straight from a Blackbox repository, built with the
// real gpg in a temp dir at the start of the case (1 RSA-3072 admin, 1 Curve25519 admin, a key of
// 3 versions), beside a bare OpenPGP.js decrypt of the same file and a bare read of it.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { infraEnv } from '../lib/infra-env.mjs';
import { check } from '../lib/payload.mjs';
import { asyncRunner } from '../lib/timing.mjs';

const KEY_ID = 'patients';
const ADMINS = [
  { id: 'rsa', name: 'RSA-3072', email: 'rsa@bench.example', algo: 'rsa3072', usage: 'encr,sign' },
  { id: 'cv25519', name: 'Curve25519', email: 'cv@bench.example', algo: 'future-default', usage: 'default' },
];
const PASSPHRASE = 'bench passphrase';

/** The gpg to build with: GPG_BIN from the environment or test-infra/.env.test, else `gpg`; the reason to skip when it does not run. */
export function gpgBinary(root) {
  const bin = infraEnv(root, 'GPG_BIN').GPG_BIN || 'gpg';
  const run = spawnSync(bin, ['--version'], { timeout: 10_000 });
  if (run.error || run.status !== 0) {
    return {
      skip: `${bin} not found or not working (${run.error?.code ?? run.status}); install GnuPG or \`pnpm infra:up gpg\``,
    };
  }
  return { bin, version: /gpg \(GnuPG\) (\S+)/.exec(run.stdout.toString())?.[1] ?? 'unknown' };
}

/** OpenPGP.js as @keystore/blackbox resolves it: the baseline uses the very copy the package runs on. */
export async function blackboxOpenpgp(root) {
  const require = createRequire(join(root, 'packages/blackbox/package.json'));
  const path = require.resolve('openpgp');
  const version = JSON.parse(
    readFileSync(join(root, 'packages/blackbox/node_modules/openpgp/package.json'), 'utf8'),
  ).version;
  return { openpgp: await import(pathToFileURL(path).href), version };
}

/**
 * A repository as Blackbox's scripts build one (blackbox_initialize, blackbox_addadmin twice,
 * blackbox_register_new_file of a plain Fernet key with `gpg --encrypt -r` both admins); then
 * two rotations through our provider make the key 3 versions, written by OpenPGP.js to both.
 * Each admin's key is protected by a passphrase in gpg; the identities are exported armored.
 */
export async function buildRepo({ gpg, blackbox, core, openpgp }) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-blackbox-'));
  const home = join(dir, 'home');
  const root = join(dir, 'repo');
  const data = join(root, '.blackbox');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(data, { recursive: true });
  chmodSync(data, 0o700);
  const run = (homedir, args, input) => {
    const r = spawnSync(gpg, ['--homedir', homedir, '--batch', '--yes', ...args], {
      input,
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`gpg ${args[0]} failed: ${r.stderr?.toString().trim()}`);
    return r.stdout;
  };
  const remove = () => {
    for (const h of [home, data])
      spawnSync('gpgconf', ['--homedir', h, '--kill', 'all'], { timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const loopback = ['--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE];
    const identities = {};
    for (const a of ADMINS) {
      run(home, [...loopback, '--quick-gen-key', `${a.name} admin <${a.email}>`, a.algo, a.usage, 'never']);
      run(data, ['--import'], run(home, ['--export', '--armor', a.email]));
      const armored = run(home, [...loopback, '--export-secret-keys', '--armor', a.email]).toString();
      // The same key without its passphrase: a fresh provider then skips the S2K (measured apart).
      const unlocked = await openpgp.decryptKey({
        privateKey: await openpgp.readPrivateKey({ armoredKey: armored }),
        passphrase: PASSPHRASE,
      });
      identities[a.id] = { armored, plain: unlocked.armor(), key: unlocked };
    }
    writeFileSync(
      join(data, 'blackbox-admins.txt'),
      `${ADMINS.map((a) => a.email)
        .sort()
        .join('\n')}\n`,
    );
    writeFileSync(join(data, 'blackbox-files.txt'), `keys/${KEY_ID}\n`);
    writeFileSync(join(root, '.gitignore'), `/keys/${KEY_ID}\n`);
    mkdirSync(join(root, 'keys'));
    const file = join(root, 'keys', `${KEY_ID}.gpg`);
    run(
      data,
      ['--trust-model=always', '--encrypt', '-o', file, ...ADMINS.flatMap((a) => ['-r', a.email])],
      `${core.Fernet.generateKey()}\n`,
    );
    const writer = await blackbox.createBlackboxProvider({ repo: root, identity: identities.rsa.plain });
    await writer.rotateKey(KEY_ID);
    await writer.rotateKey(KEY_ID);
    const latest = await writer.getKey(KEY_ID);
    const expected = Buffer.from(latest.material);
    await writer.close();
    return { root, file, identities, expected, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** open, fstat, read, close: the calls the store makes on every fetch to see whether the file changed. */
async function readAndStat(path) {
  const handle = await open(path, 'r');
  try {
    const s = await handle.stat();
    return { bytes: await handle.readFile(), size: s.size };
  } finally {
    await handle.close();
  }
}

/**
 * Three cases, no targets:
 * - first read, once per admin's identity: `getKey` on a fresh provider each time
 *   (createBlackboxProvider, getKey, close: the layout found, the identity parsed, the .gpg
 *   decrypted and parsed), vs the bare `openpgp.readMessage` + `openpgp.decrypt` of the same file
 *   with the same, already unlocked, identity; and the fresh provider with the passphrase-protected
 *   identity, whose S2K each start pays;
 * - repeated reads: `getKey` on one provider (cached per change of the file), vs the bare
 *   open + fstat + read + close of the same file.
 */
export async function blackboxCases({ root, blackbox, core, gpg }) {
  const { openpgp, version: openpgpVersion } = await blackboxOpenpgp(root);
  const repo = await buildRepo({ gpg: gpg.bin, blackbox, core, openpgp });
  const providers = [];
  const versionOf = JSON.parse(readFileSync(join(root, 'packages/blackbox/package.json'), 'utf8')).version;
  const sameMaterial = (m) => m.version === 3 && Buffer.from(m.material).equals(repo.expected);
  const options = (identity, protectedKey = false) => ({
    repo: repo.root,
    identity: protectedKey ? identity.armored : identity.plain,
    ...(protectedKey ? { passphrase: PASSPHRASE } : {}),
  });
  const freshGetKey = async (opts) => {
    const provider = await blackbox.createBlackboxProvider(opts);
    try {
      return await provider.getKey(KEY_ID);
    } finally {
      await provider.close();
    }
  };
  const bareDecrypt = async (identity) => {
    const binaryMessage = await readFile(repo.file);
    const { data } = await openpgp.decrypt({
      message: await openpgp.readMessage({ binaryMessage }),
      decryptionKeys: identity.key,
      format: 'binary',
    });
    return data;
  };
  const fetchContender = (id, name, op, verifyOne) => ({
    id,
    name,
    async verify() {
      return [check(verifyOne(await op()), 'gives version 3, the material the writer made')];
    },
    runner: () =>
      asyncRunner(async () => {
        await op();
      }),
  });

  const firstRead = ADMINS.map((admin) => {
    const identity = repo.identities[admin.id];
    const v3 = repo.expected.toString('base64url');
    return {
      spec: {
        id: `blackbox-first-${admin.id}`,
        title: `Blackbox first read, ${admin.name} identity`,
        size: 0,
        targets: {},
      },
      contenders: [
        fetchContender(
          'ours',
          `@keystore/blackbox ${versionOf} fresh provider: createBlackboxProvider, getKey, close (identity without passphrase)`,
          () => freshGetKey(options(identity)),
          sameMaterial,
        ),
        {
          id: 'bare',
          name: `bare OpenPGP.js ${openpgpVersion}: read the .gpg, readMessage + decrypt, unlocked key`,
          async verify() {
            const text = Buffer.from(await bareDecrypt(identity)).toString('utf8');
            return [
              check(
                text.split('\n')[0].split(',')[0].replace(/=+$/, '') === v3,
                'decrypts the key file (newest key first)',
              ),
            ];
          },
          runner: () =>
            asyncRunner(async () => {
              await bareDecrypt(identity);
            }),
        },
        fetchContender(
          'protected',
          `@keystore/blackbox ${versionOf} fresh provider, identity with a passphrase (gpg's S2K on every start)`,
          () => freshGetKey(options(identity, true)),
          sameMaterial,
        ),
      ],
    };
  });

  const cached = await blackbox.createBlackboxProvider(options(repo.identities.rsa));
  providers.push(cached);
  const repeated = {
    spec: { id: 'blackbox-repeated', title: 'Blackbox repeated reads', size: 0, targets: {} },
    contenders: [
      fetchContender(
        'ours',
        `@keystore/blackbox ${versionOf} getKey on one provider (decrypted once per file change)`,
        () => cached.getKey(KEY_ID),
        sameMaterial,
      ),
      {
        id: 'bare',
        name: 'bare fs: open, fstat, read, close of the .gpg',
        async verify() {
          const r = await readAndStat(repo.file);
          return [check(r.bytes.length === r.size && r.size > 0, 'reads the whole file')];
        },
        runner: () =>
          asyncRunner(async () => {
            await readAndStat(repo.file);
          }),
      },
    ],
  };

  return {
    cases: [...firstRead, repeated],
    description: `a repository built with GnuPG ${gpg.version} in ${dirname(repo.root)}: admins RSA-3072 and Curve25519, key '${KEY_ID}' of 3 versions (rotated twice by the provider, so written by OpenPGP.js to both admins)`,
    async close() {
      await Promise.allSettled(providers.map((p) => p.close()));
      repo.remove();
    },
  };
}
