// What `pnpm test` does with the servers (the vitest global setup calls these): bring up the
// ones that are missing, remember which it started, and at the end stop only those, once no
// other test run in this checkout still uses them (test-runs.mjs).
import { down } from './down.mjs';
import { acquireLock } from './lock.mjs';
import { serviceByName } from './services/index.mjs';
import { claimForUser, joinTestRun, leaveTestRun, stopWhenTestsEnd } from './test-runs.mjs';
import { up } from './up.mjs';

/**
 * Joins the test runs and brings `names` up. Resolves { started, outcomes, failures } where
 * `started` are the services this run started (they stop when the tests end) and failures carry
 * each error's message (with the end of the server's log).
 */
export async function beginTestSession(names, { heartbeatSeconds = 10 } = {}) {
  const release = await acquireLock();
  try {
    joinTestRun();
    if (names.length === 0) return { started: [], outcomes: {}, failures: [] };
    // Marked before they start: a test run interrupted while starting them (Ctrl-C) leaves them
    // to the next test run's end, not running forever.
    const marked = stopWhenTestsEnd(names);
    const { outcomes, failures } = await up(names.map(serviceByName), { heartbeatSeconds });
    const started = Object.keys(outcomes).filter((name) => outcomes[name] === 'started');
    // One that was up already (by hand; it may have needed a restart) stays as it was.
    claimForUser(marked.filter((name) => outcomes[name] === 'already-up' || outcomes[name] === 'restarted'));
    return {
      started,
      outcomes,
      failures: failures.map(({ service, error }) => ({
        service: service.name,
        message: String(error?.message ?? error),
      })),
    };
  } finally {
    release();
  }
}

/**
 * Leaves the test runs; when it was the last one, stops the services test runs started.
 * Resolves { stopped, left }: left describes processes that would not stop.
 */
export async function endTestSession() {
  const release = await acquireLock();
  try {
    const names = leaveTestRun();
    if (names.length === 0) return { stopped: [], left: [] };
    const { left } = await down(names.map(serviceByName));
    return { stopped: names, left };
  } finally {
    release();
  }
}
