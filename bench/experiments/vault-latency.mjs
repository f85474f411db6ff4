// reencryptMany of 1,000 envelopes against a Vault that is a few milliseconds away: a TCP proxy
// on loopback that holds each chunk for DELAY_MS in each direction (so a round trip costs at
// least 2 x DELAY_MS), in front of the test server. Compares bulk calls whose batch requests
// overlap (the core as it is) with the same calls one batch at a time (BATCHES_IN_FLIGHT and
// BULK_CHUNKS_IN_FLIGHT are not options: the one-at-a-time side is emulated by a provider
// wrapper that lets one rewrapKeys call through at a time).
// Needs a server: `pnpm infra:up vault && pnpm build`, then
//   node bench/experiments/vault-latency.mjs [--delay 2] [--calls 7]
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as core from '@keystore/core';
import * as vault from '@keystore/vault';
import { vaultServer } from '../cases/vault.mjs';

const { values } = parseArgs({ options: { delay: { type: 'string' }, calls: { type: 'string' } } });
const DELAY_MS = Number(values.delay ?? 2);
const CALLS = Number(values.calls ?? 7);
const server = vaultServer(new URL('../..', import.meta.url).pathname);
if (server.skip) throw new Error(server.skip);
const target = new URL(server.endpoint);

/** Forwards `from` to `to`, each chunk held for DELAY_MS (order kept). */
function delayed(from, to) {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), DELAY_MS));
  from.on('end', () => setTimeout(() => to.end(), DELAY_MS));
  from.on('error', () => to.destroy());
}
const proxy = createServer((client) => {
  const upstream = connect(Number(target.port), target.hostname);
  delayed(client, upstream);
  delayed(upstream, client);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${proxy.address().port}`;

const provider = await vault.createVaultProvider({
  endpoint,
  auth: { method: 'token', token: server.token },
  mount: server.transitMount,
});
/** The same provider, one rewrapKeys call at a time (the core before batches overlapped). */
let tail = Promise.resolve();
const oneAtATime = {
  ...provider,
  close: async () => {},
  rewrapKeys(inputs) {
    const run = tail.then(() => provider.rewrapKeys(inputs));
    tail = run.catch(() => {});
    return run;
  },
};
const keyId = `latency-${randomBytes(4).toString('hex')}`;
const overlapped = new core.Keystore({ provider, defaultKey: keyId });
const sequential = new core.Keystore({ provider: oneAtATime, defaultKey: keyId });
await overlapped.createKey(keyId);
const items = [];
for (let i = 0; i < 1000; i++) {
  const context = { table: 't', id: String(i) };
  items.push({ envelope: await overlapped.encrypt(randomBytes(1024), { context }), context });
}
await overlapped.rotate(keyId);
const times = { overlapped: [], sequential: [] };
for (let call = 0; call <= CALLS; call++) {
  for (const [name, keystore] of call % 2
    ? [
        ['overlapped', overlapped],
        ['sequential', sequential],
      ]
    : [
        ['sequential', sequential],
        ['overlapped', overlapped],
      ]) {
    const started = performance.now();
    const results = await keystore.reencryptMany(items);
    const ms = performance.now() - started;
    if (results.some((r) => !r.ok)) throw new Error(`${name}: a re-encryption failed`);
    if (call > 0) times[name].push(ms); // call 0 warms up
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const o = median(times.overlapped);
const s = median(times.sequential);
console.log(`delay ${DELAY_MS} ms each way, ${CALLS} calls a side, reencryptMany of 1,000:`);
console.log(`  batch calls overlapping (as built): p50 ${o.toFixed(1)} ms`);
console.log(`  one batch call at a time:           p50 ${s.toFixed(1)} ms`);
console.log(`  ratio ${(s / o).toFixed(2)}x`);
await overlapped.close();
proxy.close();
