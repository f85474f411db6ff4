// `up` as a library: used by bin/infra.mjs and by the vitest global setup. The caller holds the
// lock (lock.mjs) and decides what a failure means; nothing here exits the process.
import { rewriteEnvFile } from './env-sync.mjs';
import { step, warn } from './log.mjs';
import { RUN_DIR } from './paths.mjs';
import { groupMembers, isRunning, procInfo, stopGroup } from './proc.mjs';
import { isUp } from './services/index.mjs';
import { readState, removeServiceDir } from './state.mjs';
import { timeoutMs, waitFor } from './wait.mjs';

/** Stops what `up` started for one service; returns pids still alive afterwards. */
export async function stopService(service, state) {
  if (service.stop) return service.stop(state);
  if (!state?.pgid) return [];
  if (isRunning(state)) return stopGroup(state.pgid, { graceMs: 10_000 });
  // The leader is gone. A process group id is not reused while the group has members, so any
  // member left in it is a child of ours; if the leader's pid now belongs to someone else, hands off.
  if (!procInfo(state.pgid) && groupMembers(state.pgid).length > 0)
    return stopGroup(state.pgid, { graceMs: 5_000 });
  return [];
}

/**
 * Brings one service up. Resolves 'already-up' (it ran and answered), 'restarted' (it ran but
 * did not answer) or 'started' (nothing of it ran); rejects with the reason it could not.
 */
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
      return 'already-up';
    }
    warn(service.name, `running but not healthy (${result.reason}); restarting it`);
  } else if (state) {
    step(service.name, 'found state of a run that is no longer there; cleaning it up');
  }
  const wasUp = isUp(service, state);
  if (state) {
    await stopService(service, state);
    removeServiceDir(service.name);
  }
  await service.install();
  await service.start();
  return wasUp ? 'restarted' : 'started';
}

/**
 * Installs what is missing, starts the services in parallel, waits until they answer and
 * rewrites the env file. While some are still busy (a first install takes half a minute) it
 * says which, every `heartbeatSeconds`.
 *
 * Returns { outcomes: { [name]: 'already-up' | 'started' | 'restarted' | 'failed' },
 * failures: [{ service, error }], upNow: names in the env file }.
 */
export async function up(services, { heartbeatSeconds = 15 } = {}) {
  const began = Date.now();
  step('infra', `up: ${services.map((s) => s.name).join(', ')} (run dir ${RUN_DIR})`);
  const pending = new Set(services.map((s) => s.name));
  const heartbeat = setInterval(() => {
    const seconds = Math.round((Date.now() - began) / 1000);
    step('infra', `still working on ${[...pending].join(', ')} (${seconds}s so far)`);
  }, heartbeatSeconds * 1000);
  heartbeat.unref();
  const results = await Promise.allSettled(
    services.map((service) => upOne(service).finally(() => pending.delete(service.name))),
  );
  clearInterval(heartbeat);
  const outcomes = {};
  const failures = [];
  results.forEach((result, i) => {
    const service = services[i];
    outcomes[service.name] = result.status === 'fulfilled' ? result.value : 'failed';
    if (result.status === 'rejected') failures.push({ service, error: result.reason });
  });
  return { outcomes, failures, upNow: rewriteEnvFile() };
}
