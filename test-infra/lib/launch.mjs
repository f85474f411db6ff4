// Starting a server process and waiting, bounded, until it answers.
import { readFileSync } from 'node:fs';
import { InfraError, step } from './log.mjs';
import { isRunning, startDetached, stopGroup } from './proc.mjs';
import { freshServiceDir, writeState } from './state.mjs';
import { timeoutMs, waitFor } from './wait.mjs';

const ADDRESS_IN_USE = /address already in use|EADDRINUSE|Errno 98/i;
const ATTEMPTS = 3;

/**
 * Starts a service's server and waits until `healthy(state)` resolves truthy.
 *
 * `plan()` is called once per attempt and returns { command, args, env, port, extra }; when the
 * server dies because its port was taken in between, a new plan (with new free ports) is tried.
 * On failure the process group is stopped and an InfraError names the service, the port and the
 * end of the log.
 */
export async function launch(name, { title, plan, healthy, timeoutSeconds = 60 }) {
  for (let attempt = 1; ; attempt++) {
    const p = freshServiceDir(name);
    const { command, args, env, port, extra = {} } = await plan(p);
    step(name, `starting ${title} on 127.0.0.1:${port} (log ${p.logFile})`);
    const proc = await startDetached(command, args, {
      env,
      cwd: p.dataDir,
      logFile: p.logFile,
      pidFile: p.pidFile,
    });
    const state = {
      service: name,
      pid: proc.pid,
      pgid: proc.pgid,
      startTime: proc.startTime,
      port,
      pidFile: p.pidFile,
      logFile: p.logFile,
      dataDir: p.dataDir,
      startedAt: new Date().toISOString(),
      ...extra,
    };
    writeState(name, state);
    const ms = timeoutMs(timeoutSeconds);
    const result = await waitFor(() => healthy(state), { ms, alive: () => isRunning(state) });
    if (result.ok) {
      step(name, `${title} is healthy (pid ${state.pid}, port ${port})`);
      return state;
    }
    await stopGroup(state.pgid, { graceMs: 5_000 });
    let log = '';
    try {
      log = readFileSync(p.logFile, 'utf8');
    } catch {
      // no log
    }
    if (ADDRESS_IN_USE.test(log) && attempt < ATTEMPTS) {
      step(name, `port ${port} was taken before ${title} could bind it; retrying on another port`);
      continue;
    }
    throw new InfraError(name, `${title} did not become healthy: ${result.reason}`, { log: p.logFile, port });
  }
}
