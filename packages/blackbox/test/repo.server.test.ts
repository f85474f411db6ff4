import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '@keystore/test-infra/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { readKeybox } from '../src/keybox/index.js';
import { findLayout } from '../src/repo/layout.js';
import { readAdmins, readFiles } from '../src/repo/lists.js';
import { resolveKeyPaths } from '../src/repo/paths.js';
import { type BuildOptions, type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';

const gnupg = await requireService('gpg');
const gpgBin = gnupg.env.GPG_BIN ?? 'gpg';
const run = randomBytes(4).toString('hex');

const repos: BuiltRepo[] = [];
function build(options: BuildOptions): BuiltRepo {
  const repo = buildBlackboxRepo(gpgBin, options);
  repos.push(repo);
  return repo;
}
afterEach(() => {
  for (const repo of repos.splice(0)) repo.remove();
});

/** The e-mail addresses of the keys `gpg --homedir=<data> --list-keys` shows, and their primary fingerprints. */
function listedKeys(repo: BuiltRepo): { emails: string[]; fingerprints: string[] } {
  const colons = repo.dataGpg(['--with-colons', '--list-keys']).toString('utf8').split('\n');
  const emails = colons
    .filter((line) => line.startsWith('uid:'))
    .map((line) => /<([^>]+)>/.exec(line.split(':')[9] ?? '')?.[1] ?? '');
  // The first fpr after each pub line is the primary key's.
  const fingerprints = colons
    .filter((line, i) => line.startsWith('fpr:') && colons[i - 1]?.startsWith('pub:'))
    .map((line) => line.split(':')[9] ?? '');
  return { emails, fingerprints };
}

const fernetKey = () => `${randomBytes(32).toString('base64url')}=\n`;

const variants: {
  name: string;
  options: Omit<BuildOptions, 'admins' | 'files'>;
  dataDir: string;
  pubring: string;
  format: string;
}[] = [
  {
    name: '.blackbox with pubring.kbx',
    options: {},
    dataDir: '.blackbox',
    pubring: 'pubring.kbx',
    format: 'kbx',
  },
  {
    name: 'old keyrings/live',
    options: { dataDir: 'keyrings/live' },
    dataDir: 'keyrings/live',
    pubring: 'pubring.kbx',
    format: 'kbx',
  },
  {
    name: 'legacy pubring.gpg',
    options: { legacyPubring: true },
    dataDir: '.blackbox',
    pubring: 'pubring.gpg',
    format: 'gpg',
  },
];

describe.skipIf(gnupg.skip)(
  'repository layout of repositories built with gpg as Blackbox builds them',
  () => {
    for (const variant of variants) {
      it(`reads the ${variant.name} layout, its lists and its admins, as gpg sees them`, async () => {
        // Given in an order sort -fdu changes; an RSA and a Curve25519 admin.
        const emails = [`zoe-${run}@example.com`, `Adam-${run}@example.com`];
        const plaintexts = {
          'keys/patients': fernetKey(),
          'keys/tenant/billing': fernetKey(),
          'config/db.yml': 'x: 1\n',
        };
        const repo = build({
          ...variant.options,
          admins: [
            { email: emails[0] as string, algo: 'rsa' },
            { email: emails[1] as string, algo: 'curve25519' },
          ],
          files: plaintexts,
        });

        const layout = await findLayout(repo.root);
        expect(layout.dataDir).toBe(variant.dataDir);
        expect(layout.pubring).toEqual({
          path: join(layout.root, variant.dataDir, variant.pubring),
          format: variant.format,
        });
        // The other format's file is not there: gpg kept to the one it had.
        const other = variant.pubring === 'pubring.kbx' ? 'pubring.gpg' : 'pubring.kbx';
        expect(existsSync(join(layout.root, variant.dataDir, other))).toBe(false);

        const admins = await readAdmins(layout.adminsFile);
        expect(admins).toEqual([emails[1], emails[0]]); // sort -fdu: A before z, case folded
        const gpgView = listedKeys(repo);
        expect([...gpgView.emails].sort()).toEqual([...admins].sort());
        expect([...gpgView.fingerprints].sort()).toEqual(repo.admins.map((a) => a.fingerprint).sort());

        if (variant.format === 'kbx') {
          // What the keybox reader sees of the same pubring agrees with gpg.
          const entries = readKeybox(new Uint8Array(readFileSync(layout.pubring.path)));
          expect(entries.map((e) => e.fingerprints[0])).toEqual(gpgView.fingerprints);
        }

        expect(await readFiles(layout.filesFile)).toEqual([
          'config/db.yml',
          'keys/patients',
          'keys/tenant/billing',
        ]);
        expect(readFileSync(join(layout.root, '.gitignore'), 'utf8').split('\n')).toEqual([
          `/${variant.dataDir}/pubring.gpg~`,
          `/${variant.dataDir}/pubring.kbx~`,
          `/${variant.dataDir}/secring.gpg`,
          '/keys/patients',
          '/keys/tenant/billing',
          '/config/db.yml',
          '',
        ]);

        // Key ids map to the .gpg files gpg wrote; each admin decrypts them with their key alone.
        for (const id of ['patients', 'tenant/billing']) {
          const paths = await resolveKeyPaths(layout.root, 'keys', id);
          expect(paths.plainRel).toBe(`keys/${id}`);
          const bytes = readFileSync(paths.encryptedAbs);
          expect(bytes[0] && bytes[0] & 0x80).toBe(0x80); // binary OpenPGP, not armored
          expect(existsSync(join(layout.root, paths.plainRel))).toBe(false); // plaintext removed
          for (const admin of repo.admins) {
            expect(repo.decryptAs(admin, paths.plainRel).toString('utf8')).toBe(
              plaintexts[paths.plainRel as 'keys/patients'],
            );
          }
        }
        for (const admin of repo.admins) {
          expect(admin.armoredSecretKey).toMatch(/^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
        }
      }, 120_000);
    }

    it('sees an admin removed from the list but left in the keyring, as blackbox_removeadmin can leave it', async () => {
      const emails = [`ann-${run}@example.com`, `ben-${run}@example.com`];
      const repo = build({ admins: emails.map((email) => ({ email, algo: 'curve25519' as const })) });
      const layout = await findLayout(repo.root);
      // remove_line, then a --delete-key that failed (`|| true`): the key stays.
      const text = readFileSync(layout.adminsFile, 'utf8');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(layout.adminsFile, text.replace(`${emails[1]}\n`, ''));
      expect(await readAdmins(layout.adminsFile)).toEqual([emails[0]]);
      expect(listedKeys(repo).emails.sort()).toEqual([...emails].sort());
    }, 120_000);
  },
);
