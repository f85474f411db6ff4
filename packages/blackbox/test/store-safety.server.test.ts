import { randomBytes } from 'node:crypto';
import { copyFileSync, lstatSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlackboxProvider } from '../src/index.js';
import { openRepository } from '../src/provider.js';
import { createBlackboxStore } from '../src/store/blackbox-store.js';
import { type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';

/*
 * What a write must never do to a repository (review findings): follow a
 * symlinked .gitignore or list, write a key its writer cannot read back,
 * register two files where one is the other's directory, read a .gpg no one
 * registered; and what list and load do with a registered file that is not a key.
 */
const gnupg = await requireService('gpg');
const fernetKey = () => `${randomBytes(32).toString('base64url')}=\n`;
const repo: BuiltRepo | undefined = gnupg.skip
  ? undefined
  : buildBlackboxRepo(gnupg.env.GPG_BIN ?? 'gpg', {
      admins: [
        { email: 'one@example.com', algo: 'curve25519' },
        { email: 'two@example.com', algo: 'curve25519' },
      ],
      files: { 'keys/app': fernetKey(), 'keys/server.pem': '-----BEGIN CERTIFICATE-----\nnot a key\n' },
    });

describe.skipIf(gnupg.skip)('blackbox writes that would harm a repository are refused', () => {
  afterAll(() => repo?.remove());
  const as = (i: number) => {
    const admin = repo?.admins[i];
    if (repo === undefined || admin === undefined) throw new Error('no repository');
    return { repo: repo.root, identity: admin.armoredSecretKey, passphrase: admin.passphrase };
  };

  it('lists keys past a registered file that is no key, which load names as Corrupted', async () => {
    const provider = await createBlackboxProvider(as(0));
    try {
      expect((await provider.listKeys?.())?.map((k) => k.keyId)).toEqual(['app']);
      await expect(provider.getKey?.('server.pem')).rejects.toMatchObject({
        code: 'Corrupted',
        message: expect.stringMatching(/keys\/server\.pem\.gpg/),
      });
    } finally {
      await provider.close();
    }
  });

  it('does not read a .gpg that is not registered', async () => {
    const root = (repo as BuiltRepo).root;
    copyFileSync(join(root, 'keys/app.gpg'), join(root, 'keys/stray.gpg'));
    const provider = await createBlackboxProvider(as(0));
    try {
      await expect(provider.getKey?.('stray')).rejects.toMatchObject({ code: 'KeyNotFound' });
    } finally {
      await provider.close();
      unlinkSync(join(root, 'keys/stray.gpg'));
    }
  });

  it('refuses a key whose file would be another registered file, its directory, or differ only by case', async () => {
    const provider = await createBlackboxProvider(as(0));
    try {
      await expect(provider.createKey?.('app/inner')).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(provider.createKey?.('App')).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: expect.stringMatching(/only by case/),
      });
      await provider.createKey?.('dir/one');
      await expect(provider.createKey?.('dir')).rejects.toMatchObject({ code: 'InvalidArgument' });
    } finally {
      await provider.close();
    }
  });

  it('never writes through a symlinked .gitignore (it could point at the identity)', async () => {
    const root = (repo as BuiltRepo).root;
    const secret = join(root, '..', `identity-${randomBytes(3).toString('hex')}.asc`);
    writeFileSync(secret, 'PRETEND PRIVATE KEY\n');
    const gitignore = join(root, '.gitignore');
    const saved = readFileSync(gitignore);
    unlinkSync(gitignore);
    symlinkSync(secret, gitignore);
    const provider = await createBlackboxProvider(as(0));
    try {
      await expect(provider.createKey?.('linked')).rejects.toMatchObject({
        code: 'ConfigError',
        message: expect.stringMatching(/\.gitignore is a symlink; refused/),
      });
      expect(lstatSync(gitignore).isSymbolicLink()).toBe(true);
      expect(readFileSync(secret, 'utf8')).toBe('PRETEND PRIVATE KEY\n');
    } finally {
      await provider.close();
      unlinkSync(gitignore);
      writeFileSync(gitignore, saved);
      unlinkSync(secret);
    }
  });

  it('refuses to write a key its own identity could not read back, and a store used after close', async () => {
    const root = (repo as BuiltRepo).root;
    const admins = join(root, '.blackbox', 'blackbox-admins.txt');
    const saved = readFileSync(admins);
    // Admin one removed from the list (as blackbox_removeadmin alone does), identity still one's.
    writeFileSync(admins, 'two@example.com\n');
    const provider = await createBlackboxProvider(as(0));
    const before = readFileSync(join(root, 'keys/app.gpg'));
    try {
      await expect(provider.rotateKey?.('app')).rejects.toMatchObject({
        code: 'AccessDenied',
        message: expect.stringMatching(/is not among the admins/),
      });
      expect(readFileSync(join(root, 'keys/app.gpg'))).toEqual(before);
    } finally {
      await provider.close();
      writeFileSync(admins, saved);
    }
    const store = createBlackboxStore(await openRepository(as(1)));
    expect((await store.load('app'))?.versions).toHaveLength(1);
    await store.close();
    await expect(store.load('app')).rejects.toMatchObject({ code: 'Closed' });
  });
});
