// The env file says what is up now: rewritten from the run state after every up and down.
import { removeEnvFile, writeEnvFile } from './envfile.mjs';
import { ENV_FILE, RUN_DIR } from './paths.mjs';
import { isUp, SERVICES } from './services/index.mjs';
import { readState } from './state.mjs';

/** Rewrites test-infra/.env.test from the services that are up (removes it when none is); returns their names. */
export function rewriteEnvFile() {
  const sections = [];
  const up = [];
  for (const service of SERVICES) {
    const state = readState(service.name);
    if (!isUp(service, state)) continue;
    up.push(service.name);
    sections.push({ title: service.title, vars: service.env(state) });
  }
  if (up.length === 0) {
    removeEnvFile(ENV_FILE);
    return up;
  }
  sections.unshift({
    title: 'test-infra',
    vars: { INFRA_SERVICES: up.join(','), INFRA_RUN_DIR: RUN_DIR, INFRA_ENV_FILE: ENV_FILE },
  });
  writeEnvFile(ENV_FILE, sections, `test-infra services, written ${new Date().toISOString()}`);
  return up;
}
