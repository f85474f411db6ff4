// One infra command at a time per run dir (two `up`s racing would start everything twice).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR } from './paths.mjs';
import { procInfo } from './proc.mjs';
import { sleep } from './wait.mjs';

const LOCK = join(RUN_DIR, 'infra.lock');

/** The pid in the lock file; null when there is none or it is still being written. */
function holder() {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function ageMs() {
  try {
    return Date.now() - statSync(LOCK).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Takes the lock (waiting for another holder, taking over from a dead one) and returns the
 * function that releases it. Releasing removes the lock only while it is still ours: a
 * long-lived holder (vitest's global setup) must not remove a lock another process took since.
 */
export async function acquireLock({ waitMs = 600_000 } = {}) {
  mkdirSync(RUN_DIR, { recursive: true });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      const release = () => {
        process.removeListener('exit', release);
        if (holder() === process.pid) rmSync(LOCK, { force: true });
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const pid = holder();
    if (pid === null && ageMs() < 5_000) {
      await sleep(50); // just released, or its holder is writing its pid
      continue;
    }
    if (pid === null || !procInfo(pid)) {
      rmSync(LOCK, { force: true }); // left by a command that was killed
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another infra command (pid ${pid}) still holds ${LOCK}`);
    if (!told) {
      process.stdout.write(`[infra] waiting for another infra command (pid ${pid}) to finish\n`);
      told = true;
    }
    await sleep(500);
  }
}
