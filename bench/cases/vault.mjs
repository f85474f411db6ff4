// The Vault cases: @keystore/vault against a real server (OpenBao from test-infra, or any Vault
// named by VAULT_ADDR and VAULT_TOKEN).

import { randomBytes } from 'node:crypto';
import { infraEnv } from '../lib/infra-env.mjs';
import { keystoreContender } from '../lib/keystore-contender.mjs';
import { check, payloadBytes, sameBytes } from '../lib/payload.mjs';
import { asyncRunner } from '../lib/timing.mjs';

const CONTEXT = { table: 'patients', id: '4711' };

/**
 * The server: VAULT_ADDR and VAULT_TOKEN from the environment, else from test-infra/.env.test
 * (written by `pnpm infra:up vault`). Undefined with the reason when neither has them.
 */
export function vaultServer(root) {
  const env = infraEnv(root, 'VAULT_ADDR');
  if (!env.VAULT_ADDR || !env.VAULT_TOKEN) {
    return {
      skip: 'VAULT_ADDR is not set and test-infra/.env.test names no server (`pnpm infra:up vault` starts one)',
    };
  }
  return {
    endpoint: env.VAULT_ADDR,
    token: env.VAULT_TOKEN,
    transitMount: env.VAULT_TRANSIT_MOUNT ?? 'transit',
    kvMount: env.VAULT_KV_MOUNT ?? 'secret',
  };
}

/**
 * The modes the round-trip case runs, each a `createVaultProvider` options block (KV mode with a
 * folder of its own per run).
 */
export const VAULT_MODES = [
  {
    id: 'transit',
    options: (server) => ({
      endpoint: server.endpoint,
      auth: { method: 'token', token: server.token },
      mount: server.transitMount,
    }),
  },
  {
    id: 'kv',
    options: (server) => ({
      endpoint: server.endpoint,
      auth: { method: 'token', token: server.token },
      mode: 'kv',
      mount: server.kvMount,
      pathPrefix: `keystore-bench-${randomBytes(4).toString('hex')}/`,
    }),
  },
];

/** One Vault request, bare: fetch, the token header, the JSON body (the baseline's client). */
function bareRequest(server, method = 'POST') {
  return async (path, body) => {
    const response = await fetch(`${server.endpoint.replace(/\/+$/, '')}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': server.token, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    return (await response.json()).data;
  };
}

/**
 * Round trip contenders for one mode. Ours: `Keystore` over `createVaultProvider`, encrypt then
 * decrypt of 1 KiB with a context (in transit mode: one `datakey/plaintext` and one `decrypt`
 * request). The baseline: the same two Transit requests made bare with fetch (same key, a
 * derivation context of the same form) and the Fernet round trip of the payload under that data key: the
 * backend work and the payload work, without our client, guard and envelope.
 */
export async function vaultRoundTripContenders({ core, vault, server, mode, version }) {
  const { Keystore, Fernet, InvalidToken, canonicalContext } = core;
  const options = mode.options(server);
  const provider = await vault.createVaultProvider(options);
  const keyId = `bench-${randomBytes(4).toString('hex')}`;
  await provider.createKey(keyId);
  const keystore = new Keystore({ provider, defaultKey: keyId });

  const post = bareRequest(server);
  // The derivation context as the provider makes it (transit/wire.ts).
  const context = Buffer.concat([
    Buffer.from('keystore-context-v1\n'),
    canonicalContext({ ...CONTEXT, 'keystore:alg': 'fernet' }),
  ]).toString('base64');
  const transitRoundTrip = async (bytes) => {
    const made = await post(`${server.transitMount}/datakey/plaintext/${keyId}`, { bits: 256, context });
    const token = new Fernet(Buffer.from(made.plaintext, 'base64')).encrypt(bytes);
    const opened = await post(`${server.transitMount}/decrypt/${keyId}`, {
      ciphertext: made.ciphertext,
      context,
    });
    return new Fernet(Buffer.from(opened.plaintext, 'base64')).decrypt(token);
  };
  // KV mode reads the key's secret for each wrap and each unwrap (no cache): the same two reads,
  // bare, and the Fernet round trip under a fresh data key (without the local wrap of it).
  const read = bareRequest(server, 'GET');
  const kvRoundTrip = async (bytes) => {
    await read(`${options.mount}/data/${options.pathPrefix}${keyId}`);
    const dataKey = randomBytes(32);
    const token = new Fernet(dataKey).encrypt(bytes);
    await read(`${options.mount}/data/${options.pathPrefix}${keyId}`);
    return new Fernet(dataKey).decrypt(token);
  };
  const bareRoundTrip = mode.id === 'kv' ? kvRoundTrip : transitRoundTrip;
  const bareName =
    mode.id === 'kv'
      ? 'bare fetch of the key’s KV secret twice (for encrypt, for decrypt) + Fernet (no client, guard, local wrap or envelope)'
      : 'bare fetch of the same transit requests + Fernet (no client, guard or envelope)';

  const contenders = [
    keystoreContender({
      name: `@keystore/vault ${version} Keystore, ${mode.id} mode, with a context`,
      keystore,
      context: CONTEXT,
      InvalidToken,
    }),
    {
      id: 'bare',
      name: bareName,
      async verify(size) {
        const bytes = payloadBytes(size);
        return [check(sameBytes(await bareRoundTrip(bytes), bytes), 'round trip')];
      },
      runner(size) {
        const bytes = payloadBytes(size);
        return asyncRunner(async () => {
          if ((await bareRoundTrip(bytes)).length !== size) throw new Error('wrong length');
        });
      },
    },
  ];
  return { contenders, close: () => keystore.close() };
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/**
 * `reencryptMany` of `count` envelopes of one key after a rotation, timed per call: batched
 * (the provider as it is, Transit `batch_input`) and one request per envelope (the same
 * provider declaring `batch: false`, so the core falls back to single `rewrap` requests, 16 at a
 * time). Calls alternate between the two so that machine noise falls on both. Every call's
 * results are checked (all re-encrypted, to the new version).
 */
export async function vaultReencryptCase({ core, vault, server, count, calls, log }) {
  const { Keystore } = core;
  const provider = await vault.createVaultProvider(VAULT_MODES[0].options(server));
  const keyId = `bench-${randomBytes(4).toString('hex')}`;
  await provider.createKey(keyId);
  const batched = new Keystore({ provider, defaultKey: keyId });
  const single = new Keystore({
    provider: {
      ...provider,
      capabilities: { ...provider.capabilities, batch: false },
      close: async () => {},
    },
    defaultKey: keyId,
  });
  const envelopes = [];
  for (let i = 0; i < count; i++) {
    envelopes.push(await batched.encrypt(payloadBytes(1024), { context: { ...CONTEXT, id: String(i) } }));
  }
  await batched.rotate(keyId);
  const items = envelopes.map((envelope, i) => ({ envelope, context: { ...CONTEXT, id: String(i) } }));

  const reencrypt = (keystore) => async () => {
    const results = await keystore.reencryptMany(items);
    return results.filter((r) => r.ok && batched.inspect(r.value).version === 2).length;
  };
  const raw = await rawRewrap(server, count);
  const sides = [
    { id: 'batched', name: 'reencryptMany, batched (batch_input)', run: reencrypt(batched), times: [] },
    {
      id: 'single',
      name: 'reencryptMany, one request per envelope (batch: false)',
      run: reencrypt(single),
      times: [],
    },
    {
      id: 'loop',
      name: 'a loop of reencrypt, one envelope at a time, each awaited',
      run: async () => {
        let ok = 0;
        for (const { envelope, context } of items) {
          if (batched.inspect(await batched.reencrypt(envelope, { context })).version === 2) ok++;
        }
        return ok;
      },
      times: [],
    },
    {
      id: 'raw-batched',
      name: 'reference: bare fetch, rewrap batches of 166, 2 at a time',
      run: raw.batched,
      times: [],
    },
    {
      id: 'raw-single',
      name: 'reference: bare fetch, one rewrap per ciphertext, 16 at a time',
      run: raw.single,
      times: [],
    },
    {
      id: 'raw-loop',
      name: 'reference: bare fetch, one rewrap per ciphertext, one at a time',
      run: raw.sequential,
      times: [],
    },
  ];
  const once = async (side) => {
    const start = process.hrtime.bigint();
    const ok = await side.run();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ok !== count) throw new Error(`${side.id}: ${count - ok} of ${count} not re-encrypted`);
    return ms;
  };
  for (const side of sides) await once(side); // warm-up, and the check that both work
  for (let call = 0; call < calls; call++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(call + k) % sides.length];
      side.times.push(await once(side));
    }
    if ((call + 1) % Math.max(1, Math.floor(calls / 4)) === 0) log(`  call ${call + 1}/${calls} done`);
  }
  await batched.close();
  await single.close();
  for (const side of sides) {
    side.p50 = percentile(side.times, 50);
    side.p99 = percentile(side.times, 99);
    side.envelopesPerSecond = (count * 1000) / side.p50;
  }
  const p50 = Object.fromEntries(sides.map((side) => [side.id, side.p50]));
  return {
    count,
    calls,
    sides,
    // The target's ratio: batched against the core's one-request-per-envelope fallback (16 in flight).
    ratio: p50.single / p50.batched,
    // What that ratio could be at best here: the fallback against the bare batched re-wraps.
    ceiling: p50.single / p50['raw-batched'],
    // Against requests one at a time (the form of the raw-HTTP figure, 1.30 s against 32 ms).
    loopRatio: p50.loop / p50.batched,
    rawRatio: p50['raw-single'] / p50['raw-batched'],
    rawLoopRatio: p50['raw-loop'] / p50['raw-batched'],
  };
}

/**
 * The reference: the same re-wrap of `count` ciphertexts made bare (fetch, no client, no
 * keystore), batched as the provider cuts them (166 per request, 2 requests in flight, as in a
 * guard call of 250) and one by one as the core's fallback sends them (16 in flight). What the
 * server and this machine allow, measured in the same run.
 */
async function rawRewrap(server, count) {
  const post = bareRequest(server);
  const keyId = `bench-raw-${randomBytes(4).toString('hex')}`;
  const mount = server.transitMount;
  await post(`${mount}/keys/${keyId}`, { type: 'aes256-gcm96', derived: true });
  // One derivation context per ciphertext, as envelopes with contexts of their own have.
  const contexts = Array.from({ length: count }, (_, i) =>
    Buffer.from(`keystore-context-v1\nbench ${i}`).toString('base64'),
  );
  const ciphertexts = [];
  for (let i = 0; i < count; i++) {
    const made = await post(`${mount}/encrypt/${keyId}`, {
      plaintext: randomBytes(32).toString('base64'),
      context: contexts[i],
    });
    ciphertexts.push(made.ciphertext);
  }
  await post(`${mount}/keys/${keyId}/rotate`, {});
  const moved = (ciphertext) => typeof ciphertext === 'string' && ciphertext.startsWith('vault:v2:');
  const pool = async (tasks, width) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < tasks.length) await tasks[next++]();
      }),
    );
  };
  const starts = [];
  for (let i = 0; i < count; i += 166) starts.push(i);
  const oneByOne = async (width) => {
    let ok = 0;
    await pool(
      ciphertexts.map((ciphertext, i) => async () => {
        const data = await post(`${mount}/rewrap/${keyId}`, { ciphertext, context: contexts[i] });
        if (moved(data.ciphertext)) ok++;
      }),
      width,
    );
    return ok;
  };
  return {
    async batched() {
      let ok = 0;
      await pool(
        starts.map((from) => async () => {
          const piece = ciphertexts.slice(from, from + 166);
          const data = await post(`${mount}/rewrap/${keyId}`, {
            batch_input: piece.map((ciphertext, j) => ({
              ciphertext,
              context: contexts[from + j],
              reference: `${j}`,
            })),
          });
          ok += data.batch_results.filter((r) => moved(r.ciphertext)).length;
        }),
        2,
      );
      return ok;
    },
    single: () => oneByOne(16),
    sequential: () => oneByOne(1),
  };
}
