#!/usr/bin/env node
// test-infra: the servers the integration tests talk to, on loopback, without Docker.
//
//   node test-infra/bin/infra.mjs up     [service...]   install what is missing, start, wait until healthy
//   node test-infra/bin/infra.mjs down   [service...]   stop exactly what `up` started, remove its data
//   node test-infra/bin/infra.mjs status [service...] [--json]
//   node test-infra/bin/infra.mjs env                   print the env file
//
// Services: redis, vault (OpenBao), kms (LocalStack, or moto), gpg (GnuPG + GNUPGHOME).
// Plain Node 20, no dependencies. See test-infra/README.md.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { removeEnvFile, writeEnvFile } from '../lib/envfile.mjs';
import { acquireLock } from '../lib/lock.mjs';
import { elapsedSeconds, step, warn } from '../lib/log.mjs';
import { ENV_FILE, RUN_DIR } from '../lib/paths.mjs';
import { groupMembers, isRunning, processesWithCwdUnder, procInfo, stopGroup } from '../lib/proc.mjs';
import gnupg from '../lib/services/gnupg.mjs';
import kms from '../lib/services/kms.mjs';
import openbao from '../lib/services/openbao.mjs';
import redis from '../lib/services/redis.mjs';
import { readState, removeServiceDir } from '../lib/state.mjs';
import { timeoutMs, waitFor } from '../lib/wait.mjs';

const SERVICES = [redis, openbao, kms, gnupg];
const BY_NAME = Object.fromEntries(SERVICES.map((s) => [s.name, s]));
const ALIASES = { openbao: 'vault', bao: 'vault', localstack: 'kms', moto: 'kms', gnupg: 'gpg' };

function usage(code) {
  const text = `usage: infra.mjs <up|down|status|env> [${SERVICES.map((s) => s.name).join('|')} ...] [--json]
  up      install what is missing, start the services, wait until healthy, write ${relative(process.cwd(), ENV_FILE)}
  down    stop the processes up started (by pid file and process group) and remove their data
  status  print each service up or down (exit 3 if any is down)
  env     print the env file
`;
  (code ? process.stderr : process.stdout).write(text);
  process.exit(code);
}

function select(names) {
  if (names.length === 0) return SERVICES;
  return names.map((raw) => {
    const service = BY_NAME[ALIASES[raw] ?? raw];
    if (!service) {
      process.stderr.write(`unknown service "${raw}"; known: ${SERVICES.map((s) => s.name).join(', ')}\n`);
      process.exit(2);
    }
    return service;
  });
}

function isUp(service, state) {
  if (!state) return false;
  return service.isUp ? service.isUp(state) : isRunning(state);
}

/** Stops what `up` started for one service; returns pids still alive afterwards. */
async function stopService(service, state) {
  if (service.stop) return service.stop(state);
  if (!state?.pgid) return [];
  if (isRunning(state)) return stopGroup(state.pgid, { graceMs: 10_000 });
  // The leader is gone. A process group id is not reused while the group has members, so any
  // member left in it is a child of ours; if the leader's pid now belongs to someone else, hands off.
  if (!procInfo(state.pgid) && groupMembers(state.pgid).length > 0)
    return stopGroup(state.pgid, { graceMs: 5_000 });
  return [];
}

function rewriteEnvFile() {
  const sections = [];
  const up = [];
  for (const service of SERVICES) {
    const state = readState(service.name);
    if (!isUp(service, state)) continue;
    up.push(service.name);
    sections.push({ title: service.title, vars: service.env(state) });
  }
  if (up.length === 0) {
    removeEnvFile(ENV_FILE);
    return up;
  }
  sections.unshift({
    title: 'test-infra',
    vars: { INFRA_SERVICES: up.join(','), INFRA_RUN_DIR: RUN_DIR, INFRA_ENV_FILE: ENV_FILE },
  });
  writeEnvFile(ENV_FILE, sections, `test-infra services, written ${new Date().toISOString()}`);
  return up;
}

async function upOne(service) {
  const state = readState(service.name);
  if (isUp(service, state)) {
    step(
      service.name,
      `already up${state.pid ? ` (pid ${state.pid}, port ${state.port})` : ''}; checking health`,
    );
    const result = await waitFor(() => service.check(state), { ms: timeoutMs(15), interval: 500 });
    if (result.ok) {
      step(service.name, 'healthy');
      return state;
    }
    warn(service.name, `running but not healthy (${result.reason}); restarting it`);
  } else if (state) {
    step(service.name, 'found state of a run that is no longer there; cleaning it up');
  }
  if (state) {
    await stopService(service, state);
    removeServiceDir(service.name);
  }
  await service.install();
  return service.start();
}

async function up(services) {
  const release = await acquireLock();
  step('infra', `up: ${services.map((s) => s.name).join(', ')} (run dir ${RUN_DIR})`);
  const results = await Promise.allSettled(services.map((service) => upOne(service)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [[services[i], r.reason]] : []));
  const upNow = rewriteEnvFile();
  release();
  if (failures.length) {
    for (const [service, error] of failures) {
      process.stderr.write(`\n[infra] FAILED ${service.name}: ${error?.message ?? error}\n`);
      if (!error?.service && error?.stack) process.stderr.write(`${error.stack}\n`);
    }
    process.stderr.write(
      `\n[infra] up failed for ${failures.map(([s]) => s.name).join(', ')} after ${elapsedSeconds().toFixed(1)}s;` +
        ` up: ${upNow.join(', ') || 'nothing'}. Stop what runs with: node test-infra/bin/infra.mjs down\n`,
    );
    process.exit(1);
  }
  step('infra', `all up in ${elapsedSeconds().toFixed(1)}s; env file: ${ENV_FILE}`);
}

/** Processes running in .run/ that no state file accounts for (a lost or deleted run state). */
async function stopStrays(left) {
  const strays = processesWithCwdUnder(RUN_DIR);
  if (strays.length === 0) return;
  step(
    'infra',
    `stopping ${strays.length} process(es) running in ${RUN_DIR} with no state file: ${strays.join(', ')}`,
  );
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  await waitFor(() => processesWithCwdUnder(RUN_DIR).length === 0, { ms: 10_000, interval: 200 });
  for (const pid of processesWithCwdUnder(RUN_DIR)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await waitFor(() => processesWithCwdUnder(RUN_DIR).length === 0, { ms: 5_000, interval: 200 });
  const still = processesWithCwdUnder(RUN_DIR);
  if (still.length) left.push(`strays: pid(s) ${still.join(', ')}`);
}

async function down(services, all) {
  const release = await acquireLock();
  const left = [];
  await Promise.all(
    services.map(async (service) => {
      const state = readState(service.name);
      const wasUp = isUp(service, state);
      const alive = await stopService(service, state);
      if (alive.length) {
        left.push(`${service.name}: pid(s) ${alive.join(', ')}`);
        return;
      }
      removeServiceDir(service.name);
      step(
        service.name,
        wasUp ? `stopped${state.pid ? ` (pid ${state.pid})` : ''}, data removed` : 'was not running',
      );
    }),
  );
  if (all) await stopStrays(left);
  rewriteEnvFile();
  release();
  if (left.length) {
    process.stderr.write(`[infra] could not stop: ${left.join('; ')}\n`);
    process.exit(1);
  }
  step('infra', 'down');
}

async function status(services, json) {
  const rows = await Promise.all(
    services.map(async (service) => {
      const state = readState(service.name);
      if (!isUp(service, state)) {
        return {
          service: service.name,
          up: false,
          note: state ? 'stale state: process gone (run down or up)' : '',
        };
      }
      const result = await waitFor(() => service.check(state), { ms: 3_000, interval: 500 });
      return {
        service: service.name,
        up: true,
        healthy: result.ok,
        pid: state.pid,
        port: state.port,
        impl: state.impl,
        note: result.ok ? '' : result.reason,
      };
    }),
  );
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ envFile: existsSync(ENV_FILE) ? ENV_FILE : null, services: rows }, null, 2)}\n`,
    );
  } else {
    for (const row of rows) {
      const where = row.up
        ? [row.pid ? `pid ${row.pid}` : '', row.port ? `127.0.0.1:${row.port}` : '', row.impl ?? '']
        : [];
      const health = row.up ? (row.healthy ? 'healthy' : 'UNHEALTHY') : '';
      const cols = [
        row.service.padEnd(6),
        (row.up ? 'up' : 'down').padEnd(5),
        ...where.filter(Boolean),
        health,
        row.note,
      ];
      process.stdout.write(`${cols.filter(Boolean).join('  ').trimEnd()}\n`);
    }
    process.stdout.write(`env file: ${existsSync(ENV_FILE) ? ENV_FILE : '(none)'}\n`);
  }
  if (rows.some((r) => !r.up || !r.healthy)) process.exitCode = 3;
}

const [command, ...rest] = process.argv.slice(2);
const json = rest.includes('--json');
const names = rest.filter((a) => !a.startsWith('--'));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
process.on('uncaughtException', (error) => {
  process.stderr.write(
    `[infra] internal error: ${error?.stack ?? error}\n` +
      '[infra] what was started so far is recorded under .run/: node test-infra/bin/infra.mjs down stops it\n',
  );
  process.exit(1);
});

switch (command) {
  case 'up':
    await up(select(names));
    break;
  case 'down':
    await down(select(names), names.length === 0);
    break;
  case 'status':
    await status(select(names), json);
    break;
  case 'env':
    if (!existsSync(ENV_FILE)) {
      process.stderr.write(`no env file at ${ENV_FILE}: run up first\n`);
      process.exit(1);
    }
    process.stdout.write(readFileSync(ENV_FILE, 'utf8'));
    break;
  case '-h':
  case '--help':
  case 'help':
    usage(0);
    break;
  default:
    usage(2);
}
