// Where test-infra keeps things. Everything here is git-ignored.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Run state: pid files, logs, data. Removed service by service by `down`. */
export const RUN_DIR = resolve(process.env.INFRA_RUN_DIR || join(INFRA_DIR, '.run'));

/** Python virtualenvs (kept between runs: they are the slow part of a fresh `up`). */
export const VENV_DIR = join(INFRA_DIR, '.venv');

/** The machine-readable output of `up`. */
export const ENV_FILE = resolve(process.env.INFRA_ENV_FILE || join(INFRA_DIR, '.env.test'));

export const REQUIREMENTS_DIR = join(INFRA_DIR, 'requirements');

/** Logs of installs (apt, pip); they outlive `down` so a failed install can be read. */
export const INSTALL_LOG_DIR = join(RUN_DIR, 'install');

export function serviceDir(name) {
  return join(RUN_DIR, name);
}
