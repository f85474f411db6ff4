// `down` as a library: used by bin/infra.mjs and by the vitest global setup. The caller holds
// the lock (lock.mjs); nothing here exits the process.
import { rewriteEnvFile } from './env-sync.mjs';
import { step } from './log.mjs';
import { RUN_DIR } from './paths.mjs';
import { processesWithCwdUnder } from './proc.mjs';
import { isUp } from './services/index.mjs';
import { readState, removeServiceDir } from './state.mjs';
import { stopService } from './up.mjs';
import { waitFor } from './wait.mjs';

/** Processes running in .run/ that no state file accounts for (a lost or deleted run state). */
async function stopStrays(left) {
  const strays = processesWithCwdUnder(RUN_DIR);
  if (strays.length === 0) return;
  step(
    'infra',
    `stopping ${strays.length} process(es) running in ${RUN_DIR} with no state file: ${strays.join(', ')}`,
  );
  const signal = (sig) => {
    for (const pid of processesWithCwdUnder(RUN_DIR)) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone already
      }
    }
  };
  signal('SIGTERM');
  await waitFor(() => processesWithCwdUnder(RUN_DIR).length === 0, { ms: 10_000, interval: 200 });
  signal('SIGKILL');
  await waitFor(() => processesWithCwdUnder(RUN_DIR).length === 0, { ms: 5_000, interval: 200 });
  const still = processesWithCwdUnder(RUN_DIR);
  if (still.length) left.push(`strays: pid(s) ${still.join(', ')}`);
}

/**
 * Stops what `up` started for each service and removes its run dir; with `strays`, also any
 * process still running in the run dir. Returns { left: descriptions of what survived }.
 */
export async function down(services, { strays = false } = {}) {
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
  if (strays) await stopStrays(left);
  rewriteEnvFile();
  return { left };
}
