/**
 * vitest globalSetup of the `servers` project (vitest.config.ts): `pnpm test` brings up the test
 * servers the *.server.test.ts files talk to, so the README's one test command runs every test
 * on a fresh machine.
 *
 * - A server that already answers (started with `pnpm infra:up`, by docker compose, or your own
 *   through REDIS_URL, VAULT_ADDR...) is used as it is and left running.
 * - A missing one is installed (the first time: about half a minute, with progress lines) and
 *   started through test-infra's library, and stopped when the tests end. Two test runs in one
 *   checkout share them: the last one to end stops them.
 * - If one cannot be brought up: with CI=true (or INFRA_STRICT=1) the run fails; elsewhere a
 *   banner names what is missing and why, and its tests skip (services.ts's policy).
 * - KEYSTORE_TEST_SERVERS=0 starts nothing: the server tests use what is up, or skip.
 *
 * vitest runs this only when a file of the `servers` project is selected: `vitest run <unit file>`
 * and `--project unit` start nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from '../lib/envfile.mjs';
import { beginTestSession, endTestSession } from '../lib/test-session.mjs';
import { infraEnvFile, isStrict, loadInfraEnv, probeService, type ServiceName } from './services.js';

const ALL: ServiceName[] = ['redis', 'vault', 'kms', 'gpg'];

function say(message: string): void {
  process.stdout.write(`[test-infra] ${message}\n`);
}

function banner(lines: string[]): void {
  const rule = `[test-infra] ${'='.repeat(78)}`;
  process.stderr.write(`${[rule, ...lines.map((line) => `[test-infra] ${line}`), rule].join('\n')}\n`);
}

/** KEYSTORE_TEST_SERVERS=0 (or false, no, off): start no servers. */
export function serversOptedOut(value = process.env.KEYSTORE_TEST_SERVERS): boolean {
  return value !== undefined && ['0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

/** An env file written by something else (docker compose): `up` would overwrite it. */
function foreignEnvFile(): string | undefined {
  const file = infraEnvFile();
  if (!existsSync(file)) return undefined;
  return parseEnv(readFileSync(file, 'utf8')).INFRA_SOURCE;
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const env = loadInfraEnv();
  const reasons = await Promise.all(ALL.map((name) => probeService(name, env)));
  const missing = ALL.filter((_, i) => reasons[i] !== undefined);
  const present = ALL.filter((_, i) => reasons[i] === undefined);
  if (present.length) say(`using the test servers already up: ${present.join(', ')} (left running)`);

  if (serversOptedOut()) {
    if (missing.length)
      say(
        `KEYSTORE_TEST_SERVERS=0: not starting ${missing.join(', ')}; their tests skip (fail with CI=true)`,
      );
    return undefined;
  }
  const source = foreignEnvFile();
  if (source && missing.length) {
    banner([
      `${missing.join(', ')} not reachable, and ${infraEnvFile()} comes from ${source}:`,
      'not starting servers over it. Start them there, or remove the file to let pnpm test start its own.',
    ]);
    return undefined;
  }

  if (missing.length) {
    say(
      `starting ${missing.join(', ')} for the server tests (the first time this installs them: about` +
        ' half a minute; KEYSTORE_TEST_SERVERS=0 skips them)',
    );
  }
  const session = await beginTestSession(missing);
  const teardown = async () => {
    const { stopped, left } = await endTestSession();
    if (stopped.length) say(`stopped the test servers pnpm test started: ${stopped.join(', ')}`);
    if (left.length) banner([`could not stop: ${left.join('; ')}`, 'run: pnpm infra:down']);
  };

  if (session.failures.length) {
    const names = session.failures.map((f) => f.service).join(', ');
    for (const failure of session.failures) process.stderr.write(`\n[test-infra] ${failure.message}\n`);
    if (isStrict()) {
      await teardown();
      throw new Error(`[test-infra] could not start ${names} (strict: CI or INFRA_STRICT); see above`);
    }
    banner([
      `COULD NOT START: ${names} (the reasons are above).`,
      `The tests that need ${names} will be SKIPPED. With CI=true this fails the run.`,
      'Fix what is above, or start them yourself (pnpm infra:up, or see test-infra/README.md).',
    ]);
  }
  if (session.started.length)
    say(
      `started ${session.started.join(', ')}; they stop when the tests end (pnpm infra:up keeps servers up)`,
    );
  return teardown;
}
