import { randomBytes } from 'node:crypto';
import { runConformanceSuite } from '@keystore/conformance';
import { requireService } from '@keystore/test-infra/vitest';
import { afterAll, describe, it } from 'vitest';
import { createBlackboxProvider } from '../src/index.js';
import { type BuiltRepo, buildBlackboxRepo } from './support/blackbox-repo.js';

/*
 * The conformance suite against a Blackbox repository built with GnuPG as
 * the scripts build one (two admins, RSA and Curve25519), read and written
 * as the first admin. Each test's keys have a prefix of their own.
 */
const gnupg = await requireService('gpg');
const repo: BuiltRepo | undefined = gnupg.skip
  ? undefined
  : buildBlackboxRepo(gnupg.env.GPG_BIN ?? 'gpg', {
      admins: [
        { email: 'one@example.com', algo: 'rsa' },
        { email: 'two@example.com', algo: 'curve25519' },
      ],
    });

describe.skipIf(gnupg.skip)('blackbox (a repository built with GnuPG 2.2)', () => {
  afterAll(() => repo?.remove());

  runConformanceSuite({
    name: 'blackbox',
    describe,
    it,
    factory: async () => {
      const admin = repo?.admins[0];
      if (repo === undefined || admin === undefined) throw new Error('no repository');
      return {
        provider: await createBlackboxProvider({
          repo: repo.root,
          identity: admin.armoredSecretKey,
          passphrase: admin.passphrase,
        }),
        keyPrefix: `conformance-${randomBytes(4).toString('hex')}-`,
      };
    },
  });
});
