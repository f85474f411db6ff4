import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fernet } from '@keystore/core';
import { isKeystoreError } from '@keystore/core/provider';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addBlackboxAdmin,
  checkBlackboxRecipients,
  createBlackboxProvider,
  reencryptBlackboxFiles,
  removeBlackboxAdmin,
} from '../src/index.js';
import { type BuiltAdmin, type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';
import { createGnupgHome, type GnupgHome } from './support/gnupg.js';

/*
 * Adding and removing admins on one repository built with GnuPG (one RSA
 * admin, a key file and a registered file that is not a key), the tests in
 * order: each starts from the state the one before left.
 */
const gnupg = await requireService('gpg');
const gpgBin = gnupg.env.GPG_BIN ?? 'gpg';
const run = randomBytes(4).toString('hex');
const DB_YML = `password: ${randomBytes(8).toString('hex')}\n`;
const PATIENTS = `${Fernet.generateKey()}\n`;

const repo: BuiltRepo | undefined = gnupg.skip
  ? undefined
  : buildBlackboxRepo(gpgBin, {
      admins: [{ email: `one-${run}@example.com`, algo: 'rsa' }],
      files: { 'keys/patients': PATIENTS, 'config/db.yml': DB_YML },
    });

/** A second admin made with gpg in a home of its own (their ~/.gnupg), not yet in the repository. */
function makeAdmin(email: string): { admin: BuiltAdmin; home: GnupgHome; publicKey: Buffer } {
  const home = createGnupgHome(gpgBin);
  const passphrase = randomBytes(12).toString('hex');
  const loopback = ['--pinentry-mode', 'loopback', '--passphrase', passphrase];
  home.gpg([...loopback, '--quick-gen-key', `New admin <${email}>`, 'future-default', 'default', 'never']);
  const [fingerprint] = home.fingerprints();
  const armoredSecretKey = home
    .gpg([...loopback, '--export-secret-keys', '--armor', fingerprint as string])
    .toString();
  return {
    admin: { email, fingerprint: fingerprint as string, passphrase, armoredSecretKey },
    home,
    publicKey: home.gpg(['--export', '--armor', email]),
  };
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const gpgDecrypts = (admin: BuiltAdmin, path: string): boolean => {
  try {
    repo?.decryptAs(admin, path);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(gnupg.skip)('admins of a repository built with GnuPG 2.2', () => {
  const homes: GnupgHome[] = [];
  afterAll(() => {
    for (const home of homes) home.remove();
    repo?.remove();
  });
  const built = () => {
    if (repo === undefined) throw new Error('no repository');
    const one = repo.admins[0] as BuiltAdmin;
    const data = join(repo.root, repo.dataDir);
    return {
      repo,
      one,
      options: { repo: repo.root, identity: one.armoredSecretKey, passphrase: one.passphrase },
      adminsFile: join(data, 'blackbox-admins.txt'),
      filesFile: join(data, 'blackbox-files.txt'),
    };
  };
  const newEmail = `new-${run}@example.com`;
  let fresh: ReturnType<typeof makeAdmin>;

  it('refuses an admin whose public key is not in the pubring, with the import command, changing nothing', async () => {
    const { repo, options, adminsFile } = built();
    fresh = makeAdmin(newEmail);
    homes.push(fresh.home);
    const before = [adminsFile, 'keys/patients.gpg', 'config/db.yml.gpg'].map((p) =>
      readFileSync(p.startsWith('/') ? p : join(repo.root, p)),
    );
    const error = await errorOf(addBlackboxAdmin(options, newEmail));
    expect(isKeystoreError(error, 'ConfigError')).toBe(true);
    expect(error.message).toContain(newEmail);
    expect(error.message).toContain(`gpg --homedir=${join(repo.root, repo.dataDir)} --import`);
    const after = [adminsFile, 'keys/patients.gpg', 'config/db.yml.gpg'].map((p) =>
      readFileSync(p.startsWith('/') ? p : join(repo.root, p)),
    );
    expect(after).toEqual(before);
  });

  it('reports the files not encrypted to an admin who was listed but whose files were not re-encrypted', async () => {
    const { repo, adminsFile } = built();
    // blackbox_addadmin's two steps, without blackbox_update_all_files after them.
    repo.dataGpg(['--import'], fresh.publicKey);
    const listed = readFileSync(adminsFile);
    appendFileSync(adminsFile, `${newEmail}\n`);
    const report = await checkBlackboxRecipients({ repo: repo.root });
    writeFileSync(adminsFile, listed); // back to one admin: the next test adds it properly
    expect(report.failed).toEqual([]);
    expect(report.mismatched).toEqual([
      { file: 'config/db.yml', missingAdmins: [newEmail], extraKeyIds: [] },
      { file: 'keys/patients', missingAdmins: [newEmail], extraKeyIds: [] },
    ]);
  });

  it('adds the admin: the list as sort -fdu writes it, every registered file re-encrypted, gpg decrypts each for the new admin', async () => {
    const { repo, options, adminsFile, one } = built();
    expect(gpgDecrypts(fresh.admin, 'config/db.yml')).toBe(false);
    const progress: [number, number][] = [];
    const report = await addBlackboxAdmin(options, newEmail, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(report).toEqual({ reencrypted: ['config/db.yml', 'keys/patients'], unchanged: [], failed: [] });
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    const sorted = spawnSync('sort', ['-fdu'], {
      input: `${one.email}\n${newEmail}\n`,
      env: { ...process.env, LC_ALL: 'C' },
    }).stdout.toString();
    expect(readFileSync(adminsFile, 'utf8')).toBe(sorted);
    for (const admin of [one, fresh.admin]) {
      expect(repo.decryptAs(admin, 'config/db.yml').toString()).toBe(DB_YML);
      expect(repo.decryptAs(admin, 'keys/patients').toString()).toBe(PATIENTS);
    }
    expect(await checkBlackboxRecipients({ repo: repo.root })).toEqual({ mismatched: [], failed: [] });
    // Nothing is outdated now: onlyOutdated leaves every file as it is.
    const again = await reencryptBlackboxFiles(options, { onlyOutdated: true });
    expect(again).toEqual({ reencrypted: [], unchanged: ['config/db.yml', 'keys/patients'], failed: [] });
  });

  it('one file failing does not stop the others, and is reported by name without its contents', async () => {
    const { repo, options, filesFile } = built();
    const listed = readFileSync(filesFile);
    writeFileSync(join(repo.root, 'broken.gpg'), randomBytes(64));
    writeFileSync(filesFile, `${listed}broken\nmissing\n../outside\n`);
    try {
      const report = await reencryptBlackboxFiles(options);
      expect(report.reencrypted).toEqual(['config/db.yml', 'keys/patients']);
      expect(report.failed.map((f) => [f.file, f.code])).toEqual([
        ['broken', 'Corrupted'],
        ['missing', 'Corrupted'],
        ['../outside', 'InvalidArgument'],
      ]);
      for (const failure of report.failed) expect(failure.message).toContain(failure.file);
      const check = await checkBlackboxRecipients({ repo: repo.root });
      expect(check.mismatched).toEqual([]);
      expect(check.failed.map((f) => f.file)).toEqual(['broken', 'missing', '../outside']);
    } finally {
      writeFileSync(filesFile, listed);
      rmSync(join(repo.root, 'broken.gpg'));
    }
  });

  it('removes the admin: files re-encrypted without them; they cannot decrypt those or newly written keys', async () => {
    const { repo, options, adminsFile, one } = built();
    const report = await removeBlackboxAdmin(options, newEmail);
    expect(report).toEqual({ reencrypted: ['config/db.yml', 'keys/patients'], unchanged: [], failed: [] });
    expect(readFileSync(adminsFile, 'utf8')).toBe(`${one.email}\n`);
    const provider = await createBlackboxProvider(options);
    try {
      await provider.createKey?.(`added-${run}`);
    } finally {
      await provider.close();
    }
    for (const path of ['config/db.yml', 'keys/patients', `keys/added-${run}`]) {
      expect(gpgDecrypts(fresh.admin, path)).toBe(false);
      expect(gpgDecrypts(one, path)).toBe(true);
    }
    expect(repo.decryptAs(one, 'config/db.yml').toString()).toBe(DB_YML);
    expect(await checkBlackboxRecipients({ repo: repo.root })).toEqual({ mismatched: [], failed: [] });
  });

  it('refuses to remove the last admin, or one not listed, changing nothing', async () => {
    const { options, adminsFile, one } = built();
    const before = readFileSync(adminsFile);
    const last = await errorOf(removeBlackboxAdmin(options, one.email));
    expect(isKeystoreError(last, 'InvalidArgument')).toBe(true);
    expect(last.message).toContain('last admin');
    const unknown = await errorOf(removeBlackboxAdmin(options, `nobody-${run}@example.com`));
    expect(isKeystoreError(unknown, 'InvalidArgument')).toBe(true);
    expect(readFileSync(adminsFile)).toEqual(before);
  });
});
