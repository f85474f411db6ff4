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
import { down } from '../lib/down.mjs';
import { acquireLock } from '../lib/lock.mjs';
import { elapsedSeconds, step } from '../lib/log.mjs';
import { ENV_FILE } from '../lib/paths.mjs';
import { isUp, SERVICES, serviceByName } from '../lib/services/index.mjs';
import { readState } from '../lib/state.mjs';
import { claimForUser } from '../lib/test-runs.mjs';
import { up } from '../lib/up.mjs';
import { waitFor } from '../lib/wait.mjs';

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
    const service = serviceByName(raw);
    if (!service) {
      process.stderr.write(`unknown service "${raw}"; known: ${SERVICES.map((s) => s.name).join(', ')}\n`);
      process.exit(2);
    }
    return service;
  });
}

async function upCommand(services) {
  const release = await acquireLock();
  // Started by hand, they stay up after tests end, even if a test run started them.
  claimForUser(services.map((s) => s.name));
  const { failures, upNow } = await up(services);
  release();
  if (failures.length) {
    for (const { service, error } of failures) {
      process.stderr.write(`\n[infra] FAILED ${service.name}: ${error?.message ?? error}\n`);
      if (!error?.service && error?.stack) process.stderr.write(`${error.stack}\n`);
    }
    process.stderr.write(
      `\n[infra] up failed for ${failures.map(({ service }) => service.name).join(', ')} after ${elapsedSeconds().toFixed(1)}s;` +
        ` up: ${upNow.join(', ') || 'nothing'}. Stop what runs with: node test-infra/bin/infra.mjs down\n`,
    );
    process.exit(1);
  }
  step('infra', `all up in ${elapsedSeconds().toFixed(1)}s; env file: ${ENV_FILE}`);
}

async function downCommand(services, all) {
  const release = await acquireLock();
  claimForUser(services.map((s) => s.name));
  const { left } = await down(services, { strays: all });
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
    await upCommand(select(names));
    break;
  case 'down':
    await downCommand(select(names), names.length === 0);
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
