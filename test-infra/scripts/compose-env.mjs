#!/usr/bin/env node
// After `docker compose -f test-infra/docker-compose.yml up -d`: waits for the three servers,
// enables Vault's Transit engine, prepares a GNUPGHOME with the host's gpg (if it has one),
// and writes test-infra/.env.test with the same keys `infra.mjs up` writes.
// Reads the same INFRA_* variables, with the same defaults, as docker-compose.yml.
import { writeEnvFile } from '../lib/envfile.mjs';
import { which } from '../lib/install.mjs';
import { step, warn } from '../lib/log.mjs';
import { ENV_FILE, RUN_DIR } from '../lib/paths.mjs';
import gnupg from '../lib/services/gnupg.mjs';
import { listKeys, REGION } from '../lib/services/kms.mjs';
import { health } from '../lib/services/openbao.mjs';
import { ping } from '../lib/services/redis.mjs';
import { timeoutMs, waitFor } from '../lib/wait.mjs';

const HOST = '127.0.0.1';
const redisPort = Number(process.env.INFRA_REDIS_PORT || 6379);
const redisPassword = process.env.INFRA_REDIS_PASSWORD || 'keystore-test-redis';
const vaultPort = Number(process.env.INFRA_VAULT_PORT || 8200);
const vaultToken = process.env.INFRA_VAULT_TOKEN || 'keystore-test-root';
const kmsPort = Number(process.env.INFRA_KMS_PORT || 4566);

async function wait(name, port, probe, seconds) {
  step(name, `waiting for 127.0.0.1:${port}`);
  const result = await waitFor(probe, { ms: timeoutMs(seconds), interval: 500 });
  if (!result.ok) {
    process.stderr.write(
      `[infra] FAILED ${name} (127.0.0.1:${port}): ${result.reason}; see: docker compose -f test-infra/docker-compose.yml logs ${name === 'kms' ? 'localstack' : name}\n`,
    );
    process.exit(1);
  }
  step(name, 'healthy');
}

await Promise.all([
  wait('redis', redisPort, () => ping({ port: redisPort, password: redisPassword }), 60),
  wait('vault', vaultPort, () => health({ port: vaultPort }), 60),
  wait('kms', kmsPort, () => listKeys(kmsPort), 120),
]);

const vault = `http://${HOST}:${vaultPort}`;
const mounts = await (
  await fetch(`${vault}/v1/sys/mounts`, { headers: { 'X-Vault-Token': vaultToken } })
).json();
if (!(mounts.data ?? mounts)['transit/']) {
  const response = await fetch(`${vault}/v1/sys/mounts/transit`, {
    method: 'POST',
    headers: { 'X-Vault-Token': vaultToken, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'transit' }),
  });
  if (!response.ok)
    throw new Error(`enabling transit/ answered ${response.status}: ${await response.text()}`);
  step('vault', 'enabled the Transit engine at transit/');
}

const services = ['redis', 'vault', 'kms'];
const sections = [
  {
    title: 'Redis (docker compose)',
    vars: {
      REDIS_HOST: HOST,
      REDIS_PORT: redisPort,
      REDIS_PASSWORD: redisPassword,
      REDIS_URL: `redis://:${encodeURIComponent(redisPassword)}@${HOST}:${redisPort}`,
    },
  },
  {
    title: 'Vault (docker compose, hashicorp/vault dev mode)',
    vars: {
      VAULT_IMPL: 'vault',
      VAULT_ADDR: vault,
      VAULT_TOKEN: vaultToken,
      VAULT_KV_MOUNT: 'secret',
      VAULT_TRANSIT_MOUNT: 'transit',
      BAO_ADDR: vault,
      BAO_TOKEN: vaultToken,
    },
  },
  {
    title: 'AWS KMS (docker compose, LocalStack)',
    vars: {
      KMS_IMPL: 'localstack',
      KMS_ENDPOINT: `http://${HOST}:${kmsPort}`,
      AWS_ENDPOINT_URL_KMS: `http://${HOST}:${kmsPort}`,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
  },
];
if (which('gpg')) {
  const state = await gnupg.start();
  services.push('gpg');
  sections.push({ title: 'GnuPG (host)', vars: gnupg.env(state) });
} else {
  warn('gpg', 'no gpg on this host: GnuPG tests will skip (install gnupg, then run this again)');
}
sections.unshift({
  title: 'test-infra',
  vars: {
    INFRA_SERVICES: services.join(','),
    INFRA_RUN_DIR: RUN_DIR,
    INFRA_ENV_FILE: ENV_FILE,
    INFRA_SOURCE: 'docker-compose',
  },
});
writeEnvFile(
  ENV_FILE,
  sections,
  `test-infra services from docker compose, written ${new Date().toISOString()}`,
);
step('infra', `env file: ${ENV_FILE}`);
