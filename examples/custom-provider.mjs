// Writing a provider of your own against `@keystore/core/provider` alone, plugging it into
// `createKeystore` by its type, and checking it with the standalone conformance run, as a user
// checks an adapter against a real deployment. The store here keeps key material in a Map per
// namespace (think of a table in a database you already run); a real adapter's store talks to
// its backend instead.

import { runConformance } from '@keystore/conformance';
import { createKeystore } from '@keystore/core';
import {
  ConfigError,
  checkExpectedLatest,
  createMaterialProvider,
  defineProvider,
  parseConfig,
  zeroMaterial,
} from '@keystore/core/provider';
import { z } from 'zod';

// ----- the adapter: what a package like @keystore/vault holds (definition.ts + provider.ts) -----

/** Where the "backend" keeps its rows: one Map of keys per namespace. */
const tables = new Map();

/** The hooks a store of key material implements; createMaterialProvider builds the rest. */
function createTableStore(namespace) {
  if (!tables.has(namespace)) tables.set(namespace, new Map());
  const rows = tables.get(namespace);
  return {
    type: 'table',
    writable: true,
    async load(keyId) {
      return rows.get(keyId);
    },
    async list() {
      return [...rows.values()];
    },
    async save(key, expectedLatest) {
      checkExpectedLatest(key.keyId, rows.get(key.keyId), expectedLatest); // KeyExists / Conflict
      rows.set(key.keyId, key);
    },
    async remove(keyId) {
      rows.delete(keyId);
    },
    async close() {
      // This process's copies of the material; the backend keeps its own.
      zeroMaterial(rows.values());
    },
  };
}

/** Its configuration block, validated with messages that name the field. */
const schema = z
  .object({ type: z.literal('table'), namespace: z.string().regex(/^[a-z][a-z0-9-]*$/) })
  .strict();

export const tableProvider = defineProvider({
  type: 'table',
  parseConfig: (config) => parseConfig(schema, config, 'provider'),
  async create(config) {
    if (config.namespace === 'forbidden') throw new ConfigError('provider.namespace: not this one');
    return createMaterialProvider(createTableStore(config.namespace));
  },
});

// ----- an application: swaps to it by configuration -----

const keystore = await createKeystore(
  { provider: { type: 'table', namespace: 'app' }, defaultKey: 'patients' },
  { providers: { table: tableProvider } },
);
await keystore.createKey('patients');
const context = { table: 'patients', id: '4711' };
const envelope = await keystore.encrypt('blood type AB+', { context });
console.log('envelope names', JSON.stringify(keystore.inspect(envelope)));
console.log('decrypted:', new TextDecoder().decode(await keystore.decrypt(envelope, { context })));
await keystore.close();

try {
  await createKeystore(
    { provider: { type: 'table', namspace: 'app' } },
    { providers: { table: tableProvider } },
  );
} catch (error) {
  console.log(`a typo in its configuration: ${error.code}: ${error.message}`);
}

// ----- the conformance suite, standalone -----

let run = 0;
const report = await runConformance({
  factory: async () => ({
    provider: await tableProvider.create({ type: 'table', namespace: `conformance-${run++}` }),
  }),
});
for (const result of report.results.filter((r) => r.status === 'failed')) {
  console.log(`FAILED ${result.name}: ${result.message ?? ''}`);
}
console.log(`conformance: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
process.exitCode = report.ok ? 0 : 1;
