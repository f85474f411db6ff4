import { createMemoryProvider } from '@keystore/core';
import { describe, it } from 'vitest';
import { runConformanceSuite } from '../src/index.js';

runConformanceSuite({
  name: 'memory',
  describe,
  it,
  factory: async () => ({ provider: await createMemoryProvider() }),
});
