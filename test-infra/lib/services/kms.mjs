// AWS KMS on loopback: LocalStack (from PyPI, on the host, KMS only) in .venv/localstack, or,
// when LocalStack cannot be installed or started, moto's server in .venv/moto. Which one runs
// is written to the env file as KMS_IMPL; both answer the same KMS API at KMS_ENDPOINT.
// INFRA_KMS_IMPL=localstack|moto forces one (no fallback).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVenv, venvBin } from '../install.mjs';
import { launch } from '../launch.mjs';
import { InfraError, warn } from '../log.mjs';
import { INSTALL_LOG_DIR, REQUIREMENTS_DIR } from '../paths.mjs';
import { freePort, HOST } from '../ports.mjs';
import { paths } from '../state.mjs';

export const REGION = 'us-east-1';

/** Any KMS call: ListKeys, signed with a dummy signature (neither emulator checks it). */
export async function listKeys(port) {
  const response = await fetch(`http://${HOST}:${port}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'TrentService.ListKeys',
      'X-Amz-Date': '20250101T000000Z',
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${REGION}/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
    },
    body: '{}',
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('"Keys"')) {
    throw new Error(`KMS ListKeys answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return true;
}

/** The environment for a Python server: everything it writes stays under its run dir. */
function pythonEnv(dir, extra) {
  const env = { ...process.env, HOME: dir, TMPDIR: join(dir, 'tmp'), ...extra };
  // Let Python cache its bytecode in the venv: the second start is much faster.
  delete env.PYTHONDONTWRITEBYTECODE;
  mkdirSync(env.TMPDIR, { recursive: true });
  return env;
}

const implementations = {
  localstack: {
    title: 'LocalStack (KMS)',
    timeoutSeconds: 120,
    install: () =>
      ensureVenv('kms', 'localstack', {
        requirements: join(REQUIREMENTS_DIR, 'localstack.lock.txt'),
        pipArgs: ['--no-deps'],
      }),
    plan: async ({ dir }) => {
      const port = await freePort();
      const fs = join(dir, 'filesystem');
      return {
        command: venvBin('localstack', 'python'),
        args: ['-m', 'localstack.runtime.main'],
        port,
        env: pythonEnv(dir, {
          SERVICES: 'kms',
          EAGER_SERVICE_LOADING: '1',
          GATEWAY_LISTEN: `${HOST}:${port}`,
          // The default (twisted) gateway ignores the host part and binds 0.0.0.0.
          GATEWAY_SERVER: 'hypercorn',
          LOCALSTACK_HOST: `${HOST}:${port}`,
          // Host mode: its directories go under FILESYSTEM_ROOT even if /.dockerenv exists.
          OVERRIDE_IN_DOCKER: '0',
          FILESYSTEM_ROOT: fs,
          LOCALSTACK_VOLUME_DIR: join(fs, 'volume'),
          PERSISTENCE: '0',
          DNS_ADDRESS: '0',
          DISABLE_EVENTS: '1',
          SKIP_SSL_CERT_DOWNLOAD: '1',
          DEBUG: '0',
        }),
      };
    },
    async healthy(state) {
      const response = await fetch(`http://${HOST}:${state.port}/_localstack/health`, {
        signal: AbortSignal.timeout(2_000),
      });
      const body = await response.json();
      const kms = body?.services?.kms;
      if (kms !== 'available' && kms !== 'running') throw new Error(`LocalStack health says kms is ${kms}`);
      return listKeys(state.port);
    },
  },

  moto: {
    title: 'moto server (KMS)',
    timeoutSeconds: 60,
    install: () => ensureVenv('kms', 'moto', { requirements: join(REQUIREMENTS_DIR, 'moto.txt') }),
    plan: async ({ dir }) => {
      const port = await freePort();
      return {
        command: venvBin('moto', 'moto_server'),
        args: ['-H', HOST, '-p', String(port)],
        port,
        env: pythonEnv(dir, {}),
      };
    },
    healthy: (state) => listKeys(state.port),
  },
};

function order() {
  const forced = process.env.INFRA_KMS_IMPL;
  if (!forced) return ['localstack', 'moto'];
  if (!implementations[forced]) {
    throw new InfraError(
      'kms',
      `INFRA_KMS_IMPL=${forced} is not one of ${Object.keys(implementations).join(', ')}`,
    );
  }
  return [forced];
}

export default {
  name: 'kms',
  title: 'AWS KMS',

  // Installing is part of start(): a LocalStack that fails to install falls back to moto too.
  async install() {},

  async start() {
    const names = order();
    for (const [index, implName] of names.entries()) {
      const impl = implementations[implName];
      try {
        await impl.install();
        const state = await launch('kms', {
          title: impl.title,
          plan: async (p) => ({ ...(await impl.plan(p)), extra: { impl: implName } }),
          healthy: impl.healthy,
          timeoutSeconds: impl.timeoutSeconds,
        });
        return state;
      } catch (error) {
        const next = names[index + 1];
        if (!next) throw error;
        // Keep the failed server's log: the next attempt starts with a fresh run dir.
        const kept = join(INSTALL_LOG_DIR, `kms-${implName}-failed.log`);
        mkdirSync(INSTALL_LOG_DIR, { recursive: true });
        if (existsSync(paths('kms').logFile)) copyFileSync(paths('kms').logFile, kept);
        warn(
          'kms',
          `${error.message}\n${impl.title} failed (log kept as ${kept}); falling back to ${implementations[next].title}`,
        );
      }
    }
    throw new InfraError('kms', 'no KMS implementation to try');
  },

  async check(state) {
    const impl = implementations[state.impl];
    if (!impl) throw new Error(`unknown KMS implementation ${state.impl} in the state file`);
    return impl.healthy(state);
  },

  env(state) {
    const endpoint = `http://${HOST}:${state.port}`;
    return {
      KMS_IMPL: state.impl,
      KMS_ENDPOINT: endpoint,
      AWS_ENDPOINT_URL_KMS: endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      KMS_PID_FILE: state.pidFile,
      KMS_LOG: state.logFile,
    };
  },
};
