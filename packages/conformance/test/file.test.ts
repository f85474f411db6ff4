import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileProvider } from '@keystore/core';
import { describe, it } from 'vitest';
import { runConformanceSuite } from '../src/index.js';

// A fresh keystore file per test; a low scrypt cost keeps the suite fast (the default is OWASP's N=2^17).
runConformanceSuite({
  name: 'file',
  describe,
  it,
  factory: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keystore-conformance-file-'));
    return {
      provider: await createFileProvider({
        path: join(dir, 'conformance.keystore.json'),
        password: 'conformance password',
        create: true,
        kdf: { name: 'scrypt', N: 2 ** 12 },
      }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});
