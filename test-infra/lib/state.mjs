// Per-service run state in test-infra/.run/<service>/: state.json (what `up` started and
// with which port, password or token), <service>.pid, <service>.log and data/.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceDir } from './paths.mjs';

export function paths(name) {
  const dir = serviceDir(name);
  return {
    dir,
    stateFile: join(dir, 'state.json'),
    pidFile: join(dir, `${name}.pid`),
    logFile: join(dir, `${name}.log`),
    dataDir: join(dir, 'data'),
  };
}

export function readState(name) {
  try {
    return JSON.parse(readFileSync(paths(name).stateFile, 'utf8'));
  } catch {
    return null;
  }
}

export function writeState(name, state) {
  const { dir, stateFile } = paths(name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, stateFile);
}

/** Removes everything the service had under .run/ (state, pid file, log, data). */
export function removeServiceDir(name) {
  rmSync(serviceDir(name), { recursive: true, force: true });
}

/** A fresh, empty run dir for a service about to start. */
export function freshServiceDir(name) {
  removeServiceDir(name);
  const p = paths(name);
  mkdirSync(p.dataDir, { recursive: true, mode: 0o700 });
  return p;
}
