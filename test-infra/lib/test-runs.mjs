// Servers that a test run started (the vitest global setup) are stopped when the last test run
// that may use them ends; servers started with `infra.mjs up` stay up. .run/test-runs.json
// records both: { runs: [{ pid, startTime }], autostop: [service names] }. Two `pnpm test`s in
// one checkout share the servers: the one that ends last stops them. Callers hold the lock.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR } from './paths.mjs';
import { procInfo } from './proc.mjs';

const FILE = join(RUN_DIR, 'test-runs.json');

function self() {
  return { pid: process.pid, startTime: procInfo(process.pid)?.startTime ?? null };
}

function alive(run) {
  const info = procInfo(run.pid);
  return Boolean(info) && (run.startTime == null || info.startTime === run.startTime);
}

/** The file's content, without runs whose process is gone (a test run that was killed). */
function read() {
  let data = {};
  try {
    data = JSON.parse(readFileSync(FILE, 'utf8'));
  } catch {
    // none yet, or torn: start over
  }
  return {
    runs: (Array.isArray(data.runs) ? data.runs : []).filter(alive),
    autostop: Array.isArray(data.autostop) ? data.autostop : [],
  };
}

function write(data) {
  if (data.runs.length === 0 && data.autostop.length === 0) {
    rmSync(FILE, { force: true });
    return;
  }
  const tmp = `${FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, FILE);
}

/** Records this process as a test run using the servers. */
export function joinTestRun() {
  const data = read();
  const me = self();
  if (!data.runs.some((run) => run.pid === me.pid)) data.runs.push(me);
  write(data);
}

/** Marks services a test run starts: they stop when the last test run leaves. Returns those not marked before. */
export function stopWhenTestsEnd(names) {
  const data = read();
  const added = names.filter((name) => !data.autostop.includes(name));
  data.autostop = [...data.autostop, ...added];
  write(data);
  return added;
}

/**
 * Removes this process from the test runs. Returns the services to stop now: those test runs
 * started, once no other test run is left (an empty list while another one still runs).
 */
export function leaveTestRun() {
  const data = read();
  data.runs = data.runs.filter((run) => run.pid !== process.pid);
  if (data.runs.length > 0) {
    write(data);
    return [];
  }
  const names = data.autostop;
  write({ runs: [], autostop: [] });
  return names;
}

/** `infra.mjs up` or `down` by hand: these services are the user's now, no test run stops them. */
export function claimForUser(names) {
  const data = read();
  const before = data.autostop.length;
  data.autostop = data.autostop.filter((name) => !names.includes(name));
  if (data.autostop.length !== before || data.runs.length === 0) write(data);
}
