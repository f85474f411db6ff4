// One infra command at a time per run dir (two `up`s racing would start everything twice).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR } from './paths.mjs';
import { procInfo } from './proc.mjs';
import { sleep } from './wait.mjs';

const LOCK = join(RUN_DIR, 'infra.lock');

export async function acquireLock({ waitMs = 600_000 } = {}) {
  mkdirSync(RUN_DIR, { recursive: true });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      const release = () => rmSync(LOCK, { force: true });
      process.once('exit', release);
      return release;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(LOCK, 'utf8').trim());
    if (!procInfo(holder)) {
      rmSync(LOCK, { force: true }); // left by a command that was killed
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another infra command (pid ${holder}) still holds ${LOCK}`);
    if (!told) {
      process.stdout.write(`[infra] waiting for another infra command (pid ${holder}) to finish\n`);
      told = true;
    }
    await sleep(500);
  }
}
