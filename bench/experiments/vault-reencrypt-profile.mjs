// Where the time of a batched reencryptMany of 1,000 envelopes goes (a one-off profile, not a
// benchmark row): the provider's rewrapKeys alone, through the guard, and through Keystore.
// Needs a server: `pnpm infra:up vault`, then `node bench/experiments/vault-reencrypt-profile.mjs`.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as core from '@keystore/core';
import { guardProvider } from '@keystore/core/provider';
import * as vault from '@keystore/vault';
import { vaultServer } from '../cases/vault.mjs';

const server = vaultServer(new URL('../..', import.meta.url).pathname);
if (server.skip) throw new Error(server.skip);
const provider = await vault.createVaultProvider({
  endpoint: server.endpoint,
  auth: { method: 'token', token: server.token },
  mount: server.transitMount,
});
const keyId = `profile-${randomBytes(4).toString('hex')}`;
const keystore = new core.Keystore({ provider, defaultKey: keyId });
await keystore.createKey(keyId);
const count = 1000;
const envelopes = [];
for (let i = 0; i < count; i++) {
  envelopes.push(await keystore.encrypt(randomBytes(1024), { context: { table: 't', id: String(i) } }));
}
await keystore.rotate(keyId);
const contexts = envelopes.map((_, i) => ({ table: 't', id: String(i) }));
// The unwrap inputs as the keystore builds them (header fields; the context as wrapped: algorithm entry added).
const inputs = envelopes.map((e, i) => {
  const { header } = core.parseEnvelope(e);
  return {
    keyId: header.keyId,
    version: header.version,
    ciphertext: header.wrappedKey,
    context: { ...contexts[i], 'keystore:alg': header.algorithm },
  };
});
const guarded = guardProvider(provider);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(name, fn, n = 9) {
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  console.log(`${name}: median ${median(ts).toFixed(1)} ms over ${n}`);
}
await time('Keystore.reencryptMany', () =>
  keystore.reencryptMany(envelopes.map((e, i) => ({ envelope: e, context: contexts[i] }))),
);
await time('guarded rewrapKeys (250 per call, calls in sequence)', () => guarded.rewrapKeys(inputs));
await time('provider rewrapKeys, one call of 1000', () => provider.rewrapKeys(inputs));
await time('Keystore parse+open only (inspect)', async () => {
  for (const e of envelopes) keystore.inspect(e);
});
await keystore.close();
