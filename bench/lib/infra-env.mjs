// The environment the server cases read: the process's, else test-infra/.env.test (written by
// `pnpm infra:up <service>`).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `process.env` when it has `name`, else the variables of test-infra/.env.test (none if it is absent). */
export function infraEnv(root, name) {
  if (process.env[name]) return process.env;
  try {
    const text = readFileSync(join(root, 'test-infra/.env.test'), 'utf8');
    return Object.fromEntries(
      text
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  } catch {
    return {};
  }
}
