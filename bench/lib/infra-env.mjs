// The environment the server cases read: the process's, else test-infra/.env.test (written by
// `pnpm infra:up <service>`).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '../../test-infra/lib/envfile.mjs';

/** `process.env` when it has `name`, else the variables of test-infra/.env.test (none if it is absent). */
export function infraEnv(root, name) {
  if (process.env[name]) return process.env;
  try {
    // test-infra's own reader: it also undoes the quotes test-infra puts on values that are not plain.
    return parseEnv(readFileSync(join(root, 'test-infra/.env.test'), 'utf8'));
  } catch {
    return {};
  }
}
