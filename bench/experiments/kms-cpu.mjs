// Where a 1 KiB KMS round trip's time goes (a one-off profile, not a benchmark row): for each
// contender of the KMS case (bench/cases/kms.mjs), the wall time per round trip, the CPU time
// this Node process spends per round trip (our code or the Encryption SDK's, the AWS SDK, HTTP),
// and the CPU time LocalStack spends per round trip (from /proc, its pid from test-infra's env).
// Client and server share the machine's cores, so CPU spent on either side is time for both.
// Needs a server: `pnpm infra:up kms && pnpm build`, then
//   node bench/experiments/kms-cpu.mjs [--rounds 5] [--seconds 2]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as esdk from '@aws-crypto/client-node';
import * as clientKms from '@aws-sdk/client-kms';
import * as awsKms from '@keystore/aws-kms';
import * as core from '@keystore/core';
import { kmsRoundTripContenders, kmsServer } from '../cases/kms.mjs';
import { infraEnv } from '../lib/infra-env.mjs';
import { asyncRunner, median } from '../lib/timing.mjs';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' } },
});
const root = new URL('../..', import.meta.url).pathname;
const server = kmsServer(root);
if (server.skip) throw new Error(server.skip);
const pidFile = infraEnv(root, 'KMS_ENDPOINT').KMS_PID_FILE;
const serverPid = pidFile ? readFileSync(pidFile, 'utf8').trim() : undefined;
const TICK_MS = 10; // USER_HZ 100: /proc's CPU times are in 10 ms ticks
/** LocalStack's CPU time so far, ms (its own process and its waited-for children), or undefined. */
function serverCpuMs() {
  if (serverPid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the command name.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
  } catch {
    return undefined;
  }
}

const versions = { esdk: '5.0.2', keystoreAwsKms: '0.0.0', clientKms: '3.1161.0' };
const made = await kmsRoundTripContenders({ core, awsKms, esdk, clientKms, server, versions });
// One more row here: our provider alone (generateDataKey, then unwrapKey of its answer), without
// the Keystore, to split the adapter's cost from the core's.
const provider = await awsKms.createAwsKmsProvider({
  region: server.region,
  endpoint: server.endpoint,
  credentials: server.credentials,
  keys: { patients: made.keyArn },
});
const context = { table: 'patients', id: '4711', 'keystore:alg': 'fernet' };
const providerOnly = {
  id: 'provider only',
  verify: async () => {},
  runner: () =>
    asyncRunner(async () => {
      const { plaintext, wrapped } = await provider.generateDataKey({
        keyId: 'patients',
        length: 32,
        context,
      });
      const opened = await provider.unwrapKey({ ...wrapped, context });
      if (!Buffer.from(opened).equals(Buffer.from(plaintext))) throw new Error('wrong data key');
    }),
};
const rows = [];
try {
  const active = [];
  for (const c of [...made.contenders, providerOnly]) {
    await c.verify(1024);
    const runner = c.runner(1024);
    await runner.warmup(0.5);
    active.push({ c, runner, wall: [], cpu: [], srv: [] });
  }
  const rounds = Number(args.rounds);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < active.length; k++) {
      const a = active[(round + k) % active.length];
      const cpu0 = process.cpuUsage();
      const srv0 = serverCpuMs();
      const r = await a.runner.round(Number(args.seconds));
      const cpu = process.cpuUsage(cpu0);
      const srv1 = serverCpuMs();
      a.wall.push((r.elapsed * 1000) / r.ops);
      a.cpu.push((cpu.user + cpu.system) / 1000 / r.ops);
      if (srv0 !== undefined && srv1 !== undefined) a.srv.push((srv1 - srv0) / r.ops);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  for (const a of active) {
    rows.push({
      id: a.c.id,
      wallMs: median(a.wall),
      clientCpuMs: median(a.cpu),
      serverCpuMs: a.srv.length ? median(a.srv) : undefined,
    });
  }
} finally {
  await provider.close();
  await made.close();
}
const fmt = (x) => (x === undefined ? '—' : x.toFixed(2));
console.log('| contender | wall ms per round trip | client CPU ms | LocalStack CPU ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows)
  console.log(`| ${r.id} | ${fmt(r.wallMs)} | ${fmt(r.clientCpuMs)} | ${fmt(r.serverCpuMs)} |`);
