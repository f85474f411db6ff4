// Benchmark of @keystore/core against other Fernet implementations and bare node:crypto.
//
//   node bench/run.mjs [--quick] [--json] [--write] [--rounds N] [--seconds S]
//
// Fernet: round trips per second (encrypt a payload, then decrypt that fresh token) at 64 B and
// 1 MiB, ours vs fernet-nodejs vs fernet (npm) vs Python's cryptography (a python3 worker).
// Envelope: Keystore round trips (memory provider, with a context) at 1 KiB and 1 MiB vs the bare
// Fernet round trip of the same data, both in the same async loop.
// RSA-OAEP-2048 (SHA-256): our decrypts per second vs bare crypto.privateDecrypt with a KeyObject.
// Vault (bench/cases/vault.mjs, against the server of VAULT_ADDR or test-infra/.env.test, else
// skipped): 1 KiB envelope round trips per second vs the bare Transit requests, and reencryptMany
// of 1,000 envelopes batched vs one request per envelope, per call.
// KMS (bench/cases/kms.mjs, against the endpoint of KMS_ENDPOINT or test-infra/.env.test, else
// skipped): 1 KiB envelope round trips per second vs the AWS Encryption SDK's KMS keyring (its
// default and its unsigned committing suite) on the same key, and the two bare KMS calls.
// Blackbox (bench/cases/blackbox.mjs, a repository built with gpg in a temp dir, else skipped):
// key fetches per second, getKey on a fresh provider (first read) and on one provider (repeated),
// vs a bare OpenPGP.js decrypt of the same file and a bare read of it.
// The cases live here and in bench/cases/, the timing loop in bench/lib/timing.mjs.
// Every contender is verified (round trip and interop with our tokens) before it is timed. The
// contenders of one case run round by round, interleaved, so machine noise hits all of them.
// See bench/README.md.

import { spawn } from 'node:child_process';
import { constants, privateDecrypt, publicEncrypt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { blackboxCases, blackboxOpenpgp, buildRepo, gpgBinary } from './cases/blackbox.mjs';
import { envelopeContenders } from './cases/envelope.mjs';
import { floorContender } from './cases/floor.mjs';
import { kmsRoundTripContenders, kmsServer } from './cases/kms.mjs';
import {
  decryptContenders,
  keyFetchCase,
  redisLibraries,
  redisServer,
  reuseContenders,
} from './cases/redis.mjs';
import { VAULT_MODES, vaultReencryptCase, vaultRoundTripContenders, vaultServer } from './cases/vault.mjs';
import { check, payloadBytes, payloadText, sameBytes } from './lib/payload.mjs';
import { median, syncRunner } from './lib/timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const HELP = `usage: node bench/run.mjs [options]

  --quick         a short run (3 rounds of 0.25 s per contender) to check that it works
  --json          print the results as JSON on stdout instead of the Markdown table
  --write         also write the Markdown table to bench/RESULTS.md, the benchmark block of
                  bench/README.md and the summary line of the top-level README.md (not with --quick)
  --rounds N      timed rounds per contender and case (default 5, quick 3)
  --seconds S     length of one round in seconds (default 1, quick 0.25)
  --python PATH   the Python interpreter (default: $BENCH_PYTHON or python3)
  --only LIST     run only these sections, comma-separated: fernet, envelope, rsa, vault, kms,
                  blackbox, redis
                  (not with --write)
  -h, --help      this text
`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    python: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const ROUNDS = Number(args.rounds ?? (args.quick ? 3 : 5));
const ROUND_SECONDS = Number(args.seconds ?? (args.quick ? 0.25 : 1));
const WARMUP_SECONDS = args.quick ? 0.15 : 0.5;
const PYTHON = args.python ?? process.env.BENCH_PYTHON ?? 'python3';
if (!(Number.isInteger(ROUNDS) && ROUNDS > 0) || !(ROUND_SECONDS > 0)) {
  process.stderr.write(`bad --rounds or --seconds\n\n${HELP}`);
  process.exit(2);
}
const log = (line) => process.stderr.write(`${line}\n`);
const SECTIONS = ['fernet', 'envelope', 'rsa', 'vault', 'kms', 'blackbox', 'redis'];
const only = args.only === undefined ? SECTIONS : args.only.split(',').map((x) => x.trim());
if (only.some((x) => !SECTIONS.includes(x)) || (args.only !== undefined && args.write)) {
  process.stderr.write(`bad --only (or --only with --write)\n\n${HELP}`);
  process.exit(2);
}
const wanted = (section) => only.includes(section);
/** reencryptMany: envelopes per call, and timed calls per side. */
const VAULT_REENCRYPT = { count: 1000, calls: args.quick ? 4 : 12, target: 25 };

// The Node running the table, first: under another Node (bench/README.md) this says which one.
log(
  `Node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl}), ${process.execPath}`,
);

// ---------------------------------------------------------------------------------------------
// The libraries

let core;
try {
  core = await import('@keystore/core');
} catch (error) {
  log(`cannot load @keystore/core (run \`pnpm build\` first): ${error.message}`);
  process.exit(1);
}
const { Fernet } = core;
const { Fernet: FernetNodejs } = await import('fernet-nodejs');
const fernetNpm = (await import('fernet')).default;

function packageVersion(name, from = require) {
  try {
    return from(`${name}/package.json`).version;
  } catch {
    return 'unknown';
  }
}
const versions = {
  keystoreCore: JSON.parse(readFileSync(join(here, '../packages/core/package.json'), 'utf8')).version,
  fernetNodejs: packageVersion('fernet-nodejs'),
  fernet: packageVersion('fernet'),
  cryptoJs: packageVersion('crypto-js', createRequire(require.resolve('fernet'))),
  keystoreVault: JSON.parse(readFileSync(join(here, '../packages/vault/package.json'), 'utf8')).version,
  keystoreAwsKms: JSON.parse(readFileSync(join(here, '../packages/aws-kms/package.json'), 'utf8')).version,
  keystoreBlackbox: JSON.parse(readFileSync(join(here, '../packages/blackbox/package.json'), 'utf8')).version,
  esdk: packageVersion('@aws-crypto/client-node'),
  clientKms: packageVersion('@aws-sdk/client-kms'),
};

// ---------------------------------------------------------------------------------------------
// Python's cryptography, as a long-lived worker (bench/python_fernet.py)

async function startPython() {
  let child;
  try {
    child = spawn(PYTHON, [join(here, 'python_fernet.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    return { available: false, reason: `${PYTHON} could not be started: ${error.message}` };
  }
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const spawned = new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('spawn', () => resolve({}));
  });
  const started = await spawned;
  if (started.error) {
    return {
      available: false,
      reason: `${PYTHON} not found (${started.error.code ?? started.error.message})`,
    };
  }
  const first = await lines.next();
  if (first.done) {
    return { available: false, reason: `${PYTHON} exited: ${stderr.trim() || 'no output'}` };
  }
  const info = JSON.parse(first.value);
  if (!info.ok) {
    child.stdin.end();
    return { available: false, reason: `${PYTHON} ${info.python}: ${info.error}`, info };
  }
  let queue = Promise.resolve();
  const call = (request) => {
    // One request at a time; each answer is one line.
    const answer = queue.then(async () => {
      child.stdin.write(`${JSON.stringify(request)}\n`);
      const line = await lines.next();
      if (line.done) throw new Error(`python worker exited: ${stderr.trim()}`);
      const reply = JSON.parse(line.value);
      if (reply.error) throw new Error(`python worker: ${reply.error}`);
      return reply;
    });
    queue = answer.catch(() => {});
    return answer;
  };
  const close = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.stdin.end();
    });
  return { available: true, info, call, close };
}

// ---------------------------------------------------------------------------------------------
// Fernet contenders

/**
 * Each contender: `verify(size)` returns the checks it passed (throws on a failure), `runner(size)`
 * the warm-up and round functions. Ours takes and returns bytes; fernet-nodejs and fernet take and
 * return strings (their only API), which is why the payload is ASCII.
 */
function fernetContenders(python) {
  const key = Fernet.generateKey();
  const ours = new Fernet(key);
  const nodejs = new FernetNodejs(key);
  const secret = new fernetNpm.Secret(key);
  const npmEncrypt = (text) => new fernetNpm.Token({ secret, ttl: 0 }).encode(text);
  const npmDecrypt = (token) => new fernetNpm.Token({ secret, token, ttl: 0 }).decode();

  return [
    {
      id: 'ours',
      name: `@keystore/core ${versions.keystoreCore} Fernet`,
      verify(size) {
        const text = payloadText(size);
        const bytes = Buffer.from(text, 'ascii');
        return [
          check(sameBytes(ours.decrypt(ours.encrypt(bytes)), bytes), 'round trip'),
          check(sameBytes(ours.decrypt(nodejs.encrypt(text)), bytes), 'decrypts fernet-nodejs tokens'),
          check(sameBytes(ours.decrypt(npmEncrypt(text)), bytes), 'decrypts fernet (npm) tokens'),
        ];
      },
      runner(size) {
        const bytes = payloadBytes(size);
        return syncRunner(() => {
          if (ours.decrypt(ours.encrypt(bytes)).length !== size) throw new Error('wrong length');
        });
      },
    },
    {
      id: 'fernet-nodejs',
      name: `fernet-nodejs ${versions.fernetNodejs}`,
      verify(size) {
        const text = payloadText(size);
        return [
          check(nodejs.decrypt(nodejs.encrypt(text)) === text, 'round trip'),
          check(nodejs.decrypt(ours.encrypt(text)) === text, 'decrypts our tokens'),
        ];
      },
      runner(size) {
        const text = payloadText(size);
        return syncRunner(() => {
          if (nodejs.decrypt(nodejs.encrypt(text)).length !== size) throw new Error('wrong length');
        });
      },
    },
    {
      id: 'fernet',
      name: `fernet ${versions.fernet} (npm, crypto-js ${versions.cryptoJs})`,
      verify(size) {
        const text = payloadText(size);
        return [
          check(npmDecrypt(npmEncrypt(text)) === text, 'round trip'),
          check(npmDecrypt(ours.encrypt(text)) === text, 'decrypts our tokens'),
        ];
      },
      runner(size) {
        const text = payloadText(size);
        return syncRunner(() => {
          if (npmDecrypt(npmEncrypt(text)).length !== size) throw new Error('wrong length');
        });
      },
    },
    {
      id: 'python',
      name: python.available
        ? `Python ${python.info.python} cryptography ${python.info.cryptography}`
        : 'Python cryptography',
      absent: python.available ? undefined : python.reason,
      async verify(size) {
        const bytes = payloadBytes(size);
        const r = await python.call({ cmd: 'verify', key, size, token: ours.encrypt(bytes) });
        return [
          check(r.roundTrip, 'round trip'),
          check(r.decryptsOurs, 'decrypts our tokens'),
          check(sameBytes(ours.decrypt(r.token), bytes), 'its tokens decrypt with ours'),
        ];
      },
      runner(size) {
        return {
          warmup: (budget) => python.call({ cmd: 'warmup', key, size, seconds: budget }),
          round: (budget) => python.call({ cmd: 'run', key, size, seconds: budget }),
        };
      },
    },
    floorContender(key, Fernet),
  ];
}

// ---------------------------------------------------------------------------------------------
// RSA-OAEP contenders

function rsaContenders() {
  const { RsaOaep } = core;
  if (typeof RsaOaep !== 'function') {
    return { unavailable: 'RsaOaep not available (not exported by @keystore/core yet)' };
  }
  let ours;
  let publicKey;
  let privateKey;
  let ciphertext;
  let bareCiphertext;
  let note;
  const message = payloadBytes(32); // e.g. a data key to unwrap
  try {
    const pair = RsaOaep.generateKeyPair({ modulusLength: 2048 });
    ({ publicKey, privateKey } = pair);
    ours = new RsaOaep({ publicKey, privateKey });
    ciphertext = ours.encrypt(message);
    if (!sameBytes(ours.decrypt(ciphertext), message)) throw new Error('round trip: wrong result');
  } catch (error) {
    return { unavailable: `RsaOaep not available (${error.message})` };
  }
  const bare = (ct) =>
    privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ct);
  try {
    // Our ciphertext for a 32-byte message should be a plain OAEP block: decrypt the same bytes.
    if (!bare(ciphertext).equals(message)) throw new Error('wrong result');
    bareCiphertext = ciphertext;
  } catch {
    bareCiphertext = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      message,
    );
    note = `our ciphertext (${ciphertext.length} bytes) is not a bare OAEP block; the bare call decrypts one of its own`;
  }
  return {
    note,
    contenders: [
      {
        id: 'ours',
        name: `@keystore/core ${versions.keystoreCore} RsaOaep.decrypt`,
        verify: () => ['round trip'],
        runner: () =>
          syncRunner(() => {
            if (ours.decrypt(ciphertext).length !== 32) throw new Error('wrong length');
          }),
      },
      {
        id: 'bare',
        name: 'bare crypto.privateDecrypt (KeyObject, OAEP SHA-256)',
        verify: () => [
          bareCiphertext === ciphertext ? 'decrypts our ciphertext' : 'decrypts its own ciphertext',
        ],
        runner: () =>
          syncRunner(() => {
            if (bare(bareCiphertext).length !== 32) throw new Error('wrong length');
          }),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Running a case: verify, warm up, then rounds interleaved across contenders

async function runCase(spec, contenders) {
  log(`\n${spec.title}`);
  const results = [];
  for (const c of contenders) {
    const result = { id: c.id, name: c.name, status: 'ok', checks: [], rates: [] };
    results.push(result);
    if (c.absent) {
      result.status = 'absent';
      result.note = c.absent;
      log(`  ${c.name}: absent (${c.absent})`);
      continue;
    }
    try {
      result.checks = await c.verify(spec.size);
      log(`  ${c.name}: verified (${result.checks.join(', ')})`);
    } catch (error) {
      result.status = 'broken';
      result.note = `verification failed: ${error.message}`;
      log(`  ${c.name}: NOT TIMED, ${result.note}`);
    }
  }
  const active = contenders
    .map((c, i) => ({ c, result: results[i] }))
    .filter(({ result }) => result.status === 'ok')
    .map(({ c, result }) => ({ result, runner: c.runner(spec.size) }));

  for (const a of active) {
    try {
      const w = await a.runner.warmup(WARMUP_SECONDS);
      a.result.warmup = { ops: w.ops, rate: w.rate };
    } catch (error) {
      a.result.status = 'broken';
      a.result.note = `failed in warm-up: ${error.message}`;
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Round by round, each contender once; the starting contender rotates so that no one
    // always runs right after the same neighbour.
    for (let k = 0; k < active.length; k++) {
      const a = active[(round + k) % active.length];
      if (a.result.status !== 'ok') continue;
      try {
        const r = await a.runner.round(ROUND_SECONDS);
        a.result.rates.push(r.rate);
        a.result.ops = (a.result.ops ?? 0) + r.ops;
      } catch (error) {
        a.result.status = 'broken';
        a.result.note = `failed while timed: ${error.message}`;
      }
    }
    log(`  round ${round + 1}/${ROUNDS} done`);
  }
  for (const r of results) {
    if (r.status === 'ok' && r.rates.length > 0) {
      r.median = median(r.rates);
      r.min = Math.min(...r.rates);
      r.max = Math.max(...r.rates);
    }
  }
  const ours = results.find((r) => r.id === 'ours');
  for (const r of results) {
    if (r === ours) continue;
    const target = spec.targets[r.id];
    if (ours?.median !== undefined && r.median !== undefined) {
      r.ratio = ours.median / r.median;
      // The same ratio taken round by round (the rounds are interleaved), for the JSON only.
      const n = Math.min(ours.rates.length, r.rates.length);
      r.pairedRatio = median(Array.from({ length: n }, (_, i) => ours.rates[i] / r.rates[i]));
    }
    if (target !== undefined) {
      r.target = target;
      r.met = r.ratio === undefined ? null : r.ratio >= target;
    }
  }
  return { id: spec.id, title: spec.title, unit: spec.unit, size: spec.size, contenders: results };
}

// ---------------------------------------------------------------------------------------------
// Machine

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

function machine(python) {
  return {
    cpu: cpuModel(),
    logicalCpus: os.cpus().length,
    availableParallelism: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    nodeOpenssl: process.versions.openssl,
    python: python.available ? python.info.python : null,
    cryptography: python.available ? python.info.cryptography : null,
    pythonOpenssl: python.available ? python.info.openssl : null,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------
// Headroom: how far the OpenSSL floor is from Python, and how close ours comes to the floor

function headroom(c) {
  const get = (id) => c.contenders.find((r) => r.id === id);
  const ours = get('ours');
  const floor = get('floor');
  const python = get('python');
  if (ours?.median === undefined || floor?.median === undefined || python?.median === undefined)
    return undefined;
  const target = python.target;
  return {
    oursVsFloor: ours.median / floor.median,
    floorVsPython: floor.median / python.median,
    target,
    neededVsFloor: target === undefined ? undefined : (target * python.median) / floor.median,
  };
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Every case that ran, in the order of the output. */
const allCases = (report) => [
  ...report.fernet,
  ...report.envelope,
  ...(report.rsa.result ? [report.rsa.result] : []),
  ...report.vault.roundTrip,
  ...report.kms.roundTrip,
  ...report.blackbox.cases,
  ...report.redis.decrypt.flatMap((d) => (d.result ? [d.result] : [])),
];

function fmtRate(x) {
  if (x === undefined) return '—';
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const fmtRatio = (x) => (x === undefined ? '—' : `${x.toFixed(2)}x`);
/** A ratio against its target: three digits when two would round a miss up to the target (0.897 is not 0.90). */
const fmtTargetRatio = (x, target) =>
  x !== undefined && x < target && Number(x.toFixed(2)) >= target ? `${x.toFixed(3)}x` : fmtRatio(x);
const fmtFraction = (x) => (x === undefined ? '—' : x.toFixed(2));
const fmtPercent = (x) => (x === undefined ? '—' : `${Math.round(x * 100)}%`);

function caseRows(c) {
  return c.contenders.map((r) => {
    let rate;
    if (r.status === 'absent') rate = 'absent';
    else if (r.status === 'broken') rate = 'broken (see below)';
    else rate = fmtRate(r.median);
    const range = r.median === undefined ? '—' : `${fmtRate(r.min)} – ${fmtRate(r.max)}`;
    const ratio = r.id === 'ours' ? '(ours)' : fmtTargetRatio(r.ratio, r.target);
    const target = r.target === undefined ? '' : `>= ${r.target}x`;
    let met = '';
    if (r.target !== undefined) met = r.met === null ? `n/a (${r.status})` : r.met ? 'yes' : '**no**';
    return [c.title, r.name, rate, range, ratio, target, met];
  });
}

const COLUMNS = [
  ['case', 'left'],
  ['implementation', 'left'],
  ['ops/s (median)', 'right'],
  ['range over rounds', 'right'],
  ['ours ÷ this', 'right'],
  ['target', 'right'],
  ['met', 'left'],
];

/** A Markdown table with padded columns, as Biome's formatter lays it out. */
function table(rows) {
  const widths = COLUMNS.map(([title], i) => Math.max(3, title.length, ...rows.map((row) => row[i].length)));
  const pad = (cell, i) => (COLUMNS[i][1] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]));
  const line = (cells) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = widths.map((w, i) => (COLUMNS[i][1] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)));
  return [line(COLUMNS.map(([title]) => title)), `| ${rule.join(' | ')} |`, ...rows.map(line)];
}

function markdown(report) {
  const m = report.machine;
  const out = [];
  out.push(
    `Run ${report.date}${report.quick ? ' with --quick (too short to be a measurement)' : ''}, ${report.seconds} s in all: ${report.config.rounds} rounds of ${report.config.roundSeconds} s per contender and case, interleaved round by round, after ${report.config.warmupSeconds} s of warm-up each; the median round is shown.`,
  );
  out.push('');
  out.push('Machine:');
  out.push('');
  out.push(`- CPU: ${m.cpu}, ${m.logicalCpus} logical CPUs, ${m.memoryGiB} GiB memory, ${m.os}`);
  out.push(`- Node ${m.node} (V8 ${m.v8}, OpenSSL ${m.nodeOpenssl})`);
  out.push(
    m.python
      ? `- Python ${m.python}, cryptography ${m.cryptography} (${m.pythonOpenssl})`
      : `- Python cryptography: absent (${report.python.reason})`,
  );
  out.push(
    `- load average at start: ${m.loadAverageAtStart.join(', ')}; at the end: ${m.loadAverageAtEnd?.join(', ') ?? '—'}`,
  );
  out.push('');
  // Under --only, the sections not run are left out (--write, which needs them all, runs every one).
  if (wanted('fernet')) {
    out.push('### Fernet round trips per second (encrypt, then decrypt the fresh token)');
    out.push('');
    out.push(...table(report.fernet.flatMap(caseRows)));
    if (!report.python.available) {
      out.push('');
      out.push(`Python's cryptography is absent: ${report.python.reason}.`);
    }
    out.push('');
  }
  if (wanted('envelope')) {
    out.push('### Envelope round trips per second (Keystore encrypt, then decrypt, each awaited)');
    out.push('');
    out.push(...table(report.envelope.flatMap(caseRows)));
    out.push('');
  }
  if (wanted('rsa')) {
    out.push('### RSA-OAEP-2048 (SHA-256) decrypts per second');
    out.push('');
    if (report.rsa.unavailable) {
      out.push(report.rsa.unavailable);
    } else {
      out.push(...table(caseRows(report.rsa.result)));
      if (report.rsa.note) out.push('', `Note: ${report.rsa.note}.`);
    }
    out.push('');
  }
  if (wanted('vault')) out.push(...vaultMarkdown(report.vault), '');
  if (wanted('kms')) out.push(...kmsMarkdown(report.kms), '');
  if (wanted('blackbox')) out.push(...blackboxMarkdown(report.blackbox), '');
  if (wanted('redis')) out.push(...redisMarkdown(report.redis), '');
  out.push('### Targets');
  out.push('');
  for (const t of report.targets) {
    const state = t.met === null ? `not measured (${t.status})` : t.met ? 'met' : '**not met**';
    if (t.latencyUs !== undefined) {
      out.push(`- ${t.case}: p99 ${t.latencyUs.toFixed(1)} µs, target < ${t.limitUs} µs: ${state}`);
    } else if (t.atMost) {
      out.push(`- ${t.case}, ours vs ${t.against}: ${fmtRatio(t.ratio)}, target <= ${t.target}x: ${state}`);
    } else {
      out.push(
        `- ${t.case}, ours vs ${t.against}: ${fmtTargetRatio(t.ratio, t.target)}, target >= ${t.target}x: ${state}`,
      );
    }
  }
  if (wanted('rsa') && report.rsa.unavailable)
    out.push('- RSA-OAEP decrypt vs bare privateDecrypt: not measured (RsaOaep not available)');
  for (const c of report.fernet) {
    const h = headroom(c);
    if (h === undefined) continue;
    out.push(
      `- ${c.title}: ours ÷ OpenSSL floor = ${fmtFraction(h.oursVsFloor)} (ours runs at ${fmtPercent(h.oursVsFloor)} of the floor's rate); the floor is ${fmtRatio(h.floorVsPython)} Python, so the Python target (>= ${h.target}x) asks for ${fmtFraction(h.neededVsFloor)} of the floor`,
    );
  }
  out.push('');
  out.push('Verified before timing (once per library and payload size):');
  out.push('');
  const verified = new Map();
  for (const c of allCases(report)) {
    for (const r of c.contenders) {
      if (r.status === 'absent') continue;
      const what = [...r.checks, ...(r.status === 'broken' ? [`**${r.note}**`] : [])].join(', ');
      const key = `${r.name}: ${what}`;
      verified.set(key, [...(verified.get(key) ?? []), c.title]);
    }
  }
  for (const [key, cases] of verified) out.push(`- ${key} (${cases.join('; ')})`);
  return `${out.join('\n')}\n`;
}

function vaultMarkdown(v) {
  const out = ['### Vault (OpenBao): transit and kv modes'];
  out.push('');
  if (v.skip) return [...out, `Skipped: ${v.skip}.`];
  out.push(`Server: ${v.server}.`);
  out.push('');
  out.push('Envelope round trips per second (Keystore encrypt, then decrypt, each awaited):');
  out.push('');
  out.push(...table(v.roundTrip.flatMap(caseRows)));
  const r = v.reencrypt;
  if (r !== undefined) {
    out.push('');
    out.push(
      `\`reencryptMany\` of ${r.count.toLocaleString('en-US')} envelopes of one key after a rotation, ${r.calls} timed calls per side, alternating:`,
    );
    out.push('');
    const rows = r.sides.map((s) => [
      s.name,
      `${s.p50.toFixed(1)} ms`,
      `${s.p99.toFixed(1)} ms`,
      fmtRate(s.envelopesPerSecond),
    ]);
    const head = ['', 'p50 per call', 'p99 per call', 'envelopes/s at p50'];
    const widths = head.map((h, i) => Math.max(3, h.length, ...rows.map((row) => row[i].length)));
    const line = (cells) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
    out.push(
      line(head),
      `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    );
    out.push(...rows.map(line));
    out.push('');
    out.push(
      `Batched is ${fmtRatio(r.ratio)} one request per envelope (the core's fallback, 16 in flight; p50 ÷ p50) and ${fmtRatio(r.loopRatio)} a loop of \`reencrypt\` one at a time. ` +
        `The bare-fetch references, the same re-wraps without our client or the keystore, give ${fmtRatio(r.rawRatio)} (16 in flight) and ${fmtRatio(r.rawLoopRatio)} (one at a time). ` +
        `The ratio's ceiling here is ${fmtRatio(r.ceiling)}: our one-request-per-envelope p50 over the bare batched p50, the server's own batched throughput. With ${r.calls} calls a side, the p99 is the slowest call or next to it.`,
    );
  } else if (v.reencryptError) {
    out.push('', `reencryptMany: broken (${v.reencryptError}).`);
  }
  return out;
}

function kmsMarkdown(k) {
  const out = ['### AWS KMS (LocalStack): ours vs the AWS Encryption SDK'];
  out.push('');
  if (k.skip) return [...out, `Skipped: ${k.skip}.`];
  out.push(`Server: ${k.server}, one fresh symmetric key named by its ARN for every contender.`);
  out.push('');
  out.push('Envelope round trips per second (encrypt, then decrypt, each awaited):');
  out.push('');
  out.push(...table(k.roundTrip.flatMap(caseRows)));
  return out;
}

function blackboxMarkdown(b) {
  const out = ['### Blackbox: key fetches per second straight from the repository'];
  out.push('');
  if (b.skip) return [...out, `Skipped: ${b.skip}.`];
  out.push(`Repository: ${b.description}.`);
  out.push('');
  out.push('Each operation awaited before the next:');
  out.push('');
  out.push(...table(b.cases.flatMap(caseRows)));
  return out;
}

function redisMarkdown(r) {
  const out = ['### Redis cache (@keystore/redis)'];
  out.push('');
  if (r.skip) return [...out, `Skipped: ${r.skip}.`];
  out.push(`Server: ${r.server}.`);
  out.push('');
  const f = r.keyFetch;
  if (f === undefined) out.push(`Key fetch: broken (${r.keyFetchError}).`);
  else {
    out.push(
      `Key fetch latency (a cached data key, ${f.valueChars}-character value in Redis), ${f.rows[0].n.toLocaleString('en-US')} fetches per row, each awaited and timed alone, rows interleaved:`,
    );
    out.push('');
    out.push('| fetch | p50 | p99 | p99.9 |', '| --- | ---: | ---: | ---: |');
    for (const row of f.rows)
      out.push(
        `| ${row.name} | ${row.p50.toFixed(1)} µs | ${row.p99.toFixed(1)} µs | ${row.p999.toFixed(1)} µs |`,
      );
    out.push('');
    const t = f.targets;
    out.push(
      `L1 hit p99 ${t.l1P99Us.value.toFixed(1)} µs, target < 20 µs: ${t.l1P99Us.met ? 'met' : '**not met**'}. ` +
        `Redis hit p99 ÷ floor p99 ${t.redisVsFloorP99.value.toFixed(2)}, target <= 2: ${t.redisVsFloorP99.met ? 'met' : '**not met**'} (p50 ÷ p50 ${t.redisVsFloorP50.toFixed(2)}). ` +
        `While timed: ${f.checks.l1Hits} L1 hits, ${f.checks.redisHits} Redis hits, ${f.checks.providerCalls} provider calls.`,
    );
  }
  for (const d of r.decrypt) {
    out.push('');
    if (d.skip) out.push(`${d.label}: skipped (${d.skip}).`);
    else out.push(...table(caseRows(d.result)));
  }
  return out;
}

async function runRedis() {
  const root = join(here, '..');
  const server = redisServer(root);
  if (server.skip) {
    log(`\nRedis: skipped (${server.skip})`);
    return { skip: server.skip, decrypt: [] };
  }
  let libraries;
  try {
    libraries = await redisLibraries(root);
  } catch (error) {
    const skip = `cannot load @keystore/redis or ioredis (run \`pnpm build\` first): ${error.message}`;
    log(`\nRedis: skipped (${skip})`);
    return { skip, decrypt: [] };
  }
  const out = { server: server.url.replace(/\/\/[^@]*@/, '//'), decrypt: [] };
  log('\nRedis: key fetch latency');
  try {
    out.keyFetch = await keyFetchCase({
      core,
      ...libraries,
      server,
      rounds: ROUNDS * 2,
      perRound: args.quick ? 500 : 5000,
      log,
    });
  } catch (error) {
    out.keyFetchError = error.message;
    log(`  broken: ${error.message}`);
  }
  const providers = [
    {
      label: 'vault (transit)',
      async make() {
        const vaultS = vaultServer(root);
        if (vaultS.skip) return { skip: vaultS.skip };
        const vault = await import('@keystore/vault');
        const provider = await vault.createVaultProvider(VAULT_MODES[0].options(vaultS));
        const keyId = `bench-${Math.random().toString(16).slice(2, 10)}`;
        await provider.createKey(keyId);
        return { provider, keyIds: [keyId], close: () => provider.close() };
      },
    },
    {
      label: 'aws-kms',
      async make() {
        const kmsS = kmsServer(root);
        if (kmsS.skip) return { skip: kmsS.skip };
        const awsKms = await import('@keystore/aws-kms');
        const config = {
          region: kmsS.region,
          endpoint: kmsS.endpoint,
          credentials: { ...kmsS.credentials },
          maxAttempts: 3,
        };
        const admin = await awsKms.createAwsKmsProvider(config);
        const keyId = `bench-${Math.random().toString(16).slice(2, 10)}`;
        await admin.createKey(keyId, {
          description: 'keystore bench (redis case), deletion scheduled after the run',
        });
        const { arn } = await admin.describeKey(keyId);
        const provider = await awsKms.createAwsKmsProvider({ ...config, keys: { patients: arn } });
        return {
          provider,
          keyIds: ['patients'],
          // Then data-key reuse against the Encryption SDK's caching materials manager, same key.
          async extra() {
            const libs = {
              esdk: await import('@aws-crypto/client-node'),
              clientKms: await import('@aws-sdk/client-kms'),
            };
            const reuse = await reuseContenders({
              core,
              ...libraries,
              server,
              provider,
              arn,
              ...libs,
              kmsConfig: config,
              versions,
            });
            try {
              const spec = {
                id: 'redis-reuse-kms',
                title: 'Reuse round trip 1 KiB, aws-kms',
                size: 1024,
                targets: { 'esdk-cached-unsigned': 2 },
              };
              return { label: 'aws-kms, data-key reuse', result: await runCase(spec, reuse.contenders) };
            } finally {
              await reuse.close();
            }
          },
          async close() {
            await provider.close();
            await admin
              .scheduleKeyDeletion(keyId, { confirm: keyId, pendingWindowInDays: 7 })
              .catch(() => undefined);
            await admin.close();
          },
        };
      },
    },
    {
      label: 'blackbox',
      async make() {
        const gpg = gpgBinary(root);
        if (gpg.skip) return { skip: gpg.skip };
        const blackbox = await import('@keystore/blackbox');
        const { openpgp } = await blackboxOpenpgp(root);
        const repo = await buildRepo({ gpg: gpg.bin, blackbox, core, openpgp });
        try {
          const provider = await blackbox.createBlackboxProvider({
            repo: repo.root,
            identity: repo.identities.rsa.plain,
          });
          // A material store is cached per key: two keys, so that an L1 of one entry misses on every decrypt.
          await provider.createKey('records');
          return {
            provider,
            keyIds: ['patients', 'records'],
            async close() {
              await provider.close();
              repo.remove();
            },
          };
        } catch (error) {
          repo.remove();
          throw error;
        }
      },
    },
  ];
  for (const p of providers) {
    const spec = {
      id: `redis-decrypt-${p.label.split(' ')[0]}`,
      title: `Decrypt 1 KiB, ${p.label}`,
      size: 1024,
      targets: {},
    };
    let made;
    try {
      made = await p.make();
    } catch (error) {
      made = { skip: `could not set up: ${error.message}` };
    }
    if (made.skip) {
      log(`\nRedis decrypt, ${p.label}: skipped (${made.skip})`);
      out.decrypt.push({ label: p.label, skip: made.skip });
      continue;
    }
    let cases;
    try {
      cases = await decryptContenders({
        core,
        ...libraries,
        server,
        label: p.label,
        provider: made.provider,
        keyIds: made.keyIds,
      });
      out.decrypt.push({ label: p.label, result: await runCase(spec, cases.contenders) });
      if (made.extra) out.decrypt.push(await made.extra());
    } catch (error) {
      log(`  broken: ${error.message}`);
      out.decrypt.push({ label: p.label, skip: `broken: ${error.message}` });
    } finally {
      await cases?.close();
      await made.close();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

const FERNET_CASES = [
  { id: 'fernet-64B', title: 'Fernet 64 B', size: 64, targets: { 'fernet-nodejs': 1.5, python: 2.5 } },
  { id: 'fernet-1MiB', title: 'Fernet 1 MiB', size: 2 ** 20, targets: { 'fernet-nodejs': 3, python: 4 } },
];
// Ours is the Keystore round trip, the baseline the bare Fernet round trip (bench/cases/envelope.mjs).
const ENVELOPE_CASES = [
  { id: 'envelope-1KiB', title: 'Envelope 1 KiB', size: 1024, targets: { bare: 0.5 } },
  { id: 'envelope-1MiB', title: 'Envelope 1 MiB', size: 2 ** 20, targets: { bare: 0.9 } },
];
// Ours is the Keystore over @keystore/vault, the baseline the same requests made bare (bench/cases/vault.mjs).
const VAULT_ROUND_TRIP_CASES = VAULT_MODES.map((mode) => ({
  mode,
  spec: { id: `vault-${mode.id}-1KiB`, title: `Vault ${mode.id} 1 KiB`, size: 1024, targets: {} },
}));
// Ours is the Keystore over @keystore/aws-kms; the baselines the AWS Encryption SDK on the same key (bench/cases/kms.mjs).
const KMS_CASE = {
  id: 'kms-1KiB',
  title: 'KMS 1 KiB',
  size: 1024,
  targets: { 'esdk-default': 1.5, 'esdk-unsigned': 1 },
};
const RSA_CASE = {
  id: 'rsa-oaep-2048-decrypt',
  title: 'RSA-OAEP-2048 decrypt',
  size: 32,
  targets: { bare: 0.9 },
};

async function runVault() {
  const server = vaultServer(join(here, '..'));
  if (server.skip) {
    log(`\nVault: skipped (${server.skip})`);
    return { skip: server.skip, roundTrip: [] };
  }
  let vault;
  try {
    vault = await import('@keystore/vault');
  } catch (error) {
    const skip = `cannot load @keystore/vault (run \`pnpm build\` first): ${error.message}`;
    log(`\nVault: skipped (${skip})`);
    return { skip, roundTrip: [] };
  }
  const out = { server: server.endpoint, roundTrip: [] };
  for (const { mode, spec } of VAULT_ROUND_TRIP_CASES) {
    const made = await vaultRoundTripContenders({
      core,
      vault,
      server,
      mode,
      version: versions.keystoreVault,
    });
    try {
      out.roundTrip.push(await runCase(spec, made.contenders));
    } finally {
      await made.close();
    }
  }
  log(`\nVault reencryptMany of ${VAULT_REENCRYPT.count} envelopes, batched vs one request per envelope`);
  try {
    out.reencrypt = await vaultReencryptCase({ core, vault, server, ...VAULT_REENCRYPT, log });
  } catch (error) {
    out.reencryptError = error.message;
    log(`  broken: ${error.message}`);
  }
  return out;
}

async function runKms() {
  const server = kmsServer(join(here, '..'));
  if (server.skip) {
    log(`\nKMS: skipped (${server.skip})`);
    return { skip: server.skip, roundTrip: [] };
  }
  let libraries;
  try {
    libraries = {
      awsKms: await import('@keystore/aws-kms'),
      esdk: await import('@aws-crypto/client-node'),
      clientKms: await import('@aws-sdk/client-kms'),
    };
  } catch (error) {
    const skip = `cannot load @keystore/aws-kms or the AWS libraries (run \`pnpm build\` first): ${error.message}`;
    log(`\nKMS: skipped (${skip})`);
    return { skip, roundTrip: [] };
  }
  const made = await kmsRoundTripContenders({ core, ...libraries, server, versions });
  try {
    return {
      server: server.endpoint,
      keyArn: made.keyArn,
      roundTrip: [await runCase(KMS_CASE, made.contenders)],
    };
  } finally {
    await made.close();
  }
}

async function runBlackbox() {
  const gpg = gpgBinary(join(here, '..'));
  if (gpg.skip) {
    log(`\nBlackbox: skipped (${gpg.skip})`);
    return { skip: gpg.skip, cases: [] };
  }
  let blackbox;
  try {
    blackbox = await import('@keystore/blackbox');
  } catch (error) {
    const skip = `cannot load @keystore/blackbox (run \`pnpm build\` first): ${error.message}`;
    log(`\nBlackbox: skipped (${skip})`);
    return { skip, cases: [] };
  }
  log('\nBlackbox: building a repository with gpg');
  const made = await blackboxCases({ root: join(here, '..'), blackbox, core, gpg });
  try {
    const cases = [];
    for (const { spec, contenders } of made.cases) cases.push(await runCase(spec, contenders));
    return { description: made.description, cases };
  } finally {
    await made.close();
  }
}

const started = Date.now();
const python = await startPython();
if (!python.available) log(`Python's cryptography Fernet: absent (${python.reason})`);

const report = {
  schema: 1,
  date: new Date().toISOString(),
  quick: args.quick,
  config: { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, warmupSeconds: WARMUP_SECONDS },
  machine: machine(python),
  versions,
  python: python.available
    ? { available: true, ...python.info }
    : { available: false, reason: python.reason },
  fernet: [],
  envelope: [],
  rsa: {},
  vault: { roundTrip: [] },
  kms: { roundTrip: [] },
  blackbox: { cases: [] },
  redis: { decrypt: [] },
  targets: [],
};

try {
  if (wanted('fernet')) {
    const contenders = fernetContenders(python);
    for (const spec of FERNET_CASES) report.fernet.push(await runCase(spec, contenders));
  }

  if (wanted('envelope')) {
    const envelope = await envelopeContenders(core, versions.keystoreCore);
    for (const spec of ENVELOPE_CASES) report.envelope.push(await runCase(spec, envelope));
  }

  const rsa = wanted('rsa') ? rsaContenders() : { unavailable: 'not run (--only)' };
  if (rsa.unavailable) {
    if (wanted('rsa')) log(`\n${rsa.unavailable}`);
    report.rsa = { unavailable: rsa.unavailable };
  } else {
    report.rsa = { note: rsa.note, result: await runCase(RSA_CASE, rsa.contenders) };
  }

  if (wanted('vault')) report.vault = await runVault();
  if (wanted('kms')) report.kms = await runKms();
  if (wanted('blackbox')) report.blackbox = await runBlackbox();
  if (wanted('redis')) report.redis = await runRedis();
} finally {
  if (python.available) await python.close();
}

for (const c of allCases(report)) {
  for (const r of c.contenders) {
    if (r.target === undefined) continue;
    report.targets.push({
      case: c.title,
      against: r.name,
      againstId: r.id,
      ratio: r.ratio,
      target: r.target,
      met: r.met,
      status: r.status,
    });
  }
}
if (report.vault.reencrypt !== undefined || report.vault.reencryptError !== undefined) {
  const r = report.vault.reencrypt;
  report.targets.push({
    case: `Vault reencryptMany ${VAULT_REENCRYPT.count}`,
    against: 'one request per envelope (batch: false)',
    againstId: 'vault-single',
    ratio: r?.ratio,
    target: VAULT_REENCRYPT.target,
    met: r === undefined ? null : r.ratio >= VAULT_REENCRYPT.target,
    status: r === undefined ? 'broken' : 'ok',
  });
}
const fetched = report.redis.keyFetch?.targets;
if (fetched !== undefined) {
  // The cache's latency targets are bounds, not speed-ups: a p99 under a figure, and a ratio at most one.
  report.targets.push({
    case: 'Redis key fetch, L1 hit',
    against: 'p99 under 20 µs',
    againstId: 'redis-l1-p99',
    latencyUs: fetched.l1P99Us.value,
    limitUs: fetched.l1P99Us.target,
    met: fetched.l1P99Us.met,
    status: 'ok',
  });
  report.targets.push({
    case: 'Redis key fetch, Redis hit p99',
    against: 'a bare ioredis GET plus Fernet decrypt of the same value, p99',
    againstId: 'redis-floor',
    ratio: fetched.redisVsFloorP99.value,
    target: fetched.redisVsFloorP99.target,
    atMost: true,
    met: fetched.redisVsFloorP99.met,
    status: 'ok',
  });
}
for (const c of report.fernet) c.headroom = headroom(c);
report.seconds = Math.round((Date.now() - started) / 100) / 10;
report.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
log(`\ndone in ${report.seconds} s`);

const text = markdown(report);
if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else process.stdout.write(`\n${text}`);

/** The README's block between its bench markers: the run, the tables and the targets. */
function readmeBlock(report) {
  const m = report.machine;
  const lines = markdown(report).split('\n');
  const from = lines.findIndex((l) => l.startsWith('### Fernet'));
  const to = lines.findIndex((l) => l.startsWith('Verified before timing'));
  const body = lines
    .slice(from, to)
    .map((l) => (l.startsWith('### ') ? `#${l}` : l))
    .join('\n')
    .trim();
  const python = m.python ? `, Python ${m.python} with cryptography ${m.cryptography}` : '';
  return [
    `Last run: ${report.date}, ${m.cpu} (${m.logicalCpus} logical CPUs), Node ${m.node.slice(1)} with OpenSSL ${m.nodeOpenssl}${python}; load average at start ${m.loadAverageAtStart.join(', ')}.`,
    '',
    body,
  ].join('\n');
}

/** Replaces what is between `<!-- name:start -->` and `<!-- name:end -->` in `file`. */
function writeBlock(file, name, content) {
  const text = readFileSync(file, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    log(`${file} has no ${start} ... ${end} block: not updated`);
    return;
  }
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${content}\n${text.slice(b)}`);
  log(`wrote the ${name} block of ${file}`);
}

const SHORT_NAMES = {
  'fernet-nodejs': 'fernet-nodejs',
  python: 'Python',
  floor: 'the OpenSSL floor',
  'vault-single': 'one request per envelope',
  'esdk-default': 'the Encryption SDK, default suite',
  'esdk-unsigned': 'the Encryption SDK, unsigned suite',
  'esdk-cached-unsigned': "the Encryption SDK's caching materials manager, unsigned suite",
};

/** One line for the top-level README: each target's ratio, and a link to the tables. */
function summaryLine(report) {
  const m = report.machine;
  const met = report.targets.filter((t) => t.met).length;
  const figures = report.targets.map((t) => {
    if (t.latencyUs !== undefined) {
      return `${t.case} p99 ${t.latencyUs.toFixed(1)} µs (< ${t.limitUs} µs${t.met ? '' : ', not met'})`;
    }
    if (t.atMost) {
      return `${t.case} ${fmtRatio(t.ratio)} the bare GET + Fernet floor (<= ${t.target}x${t.met ? '' : ', not met'})`;
    }
    const against =
      SHORT_NAMES[t.againstId] ?? (t.case.startsWith('Envelope') ? 'bare Fernet' : 'bare privateDecrypt');
    return `${t.case} ${fmtTargetRatio(t.ratio, t.target)} ${against} (>= ${t.target}x${t.met ? '' : ', not met'})`;
  });
  return `Last run ${report.date.slice(0, 10)}, Node ${m.node.slice(1)}, load average ${m.loadAverageAtStart[0]} at start: ${met} of ${report.targets.length} targets met; ours ÷ baseline: ${figures.join(', ')}. Tables, method and discussion: [bench/README.md](bench/README.md#results).`;
}

if (args.write) {
  if (!report.quick) {
    writeBlock(join(here, 'README.md'), 'bench', readmeBlock(report));
    writeBlock(join(here, '../README.md'), 'bench-summary', summaryLine(report));
  }
  const file = join(here, 'RESULTS.md');
  writeFileSync(
    file,
    `# Benchmark results\n\nWritten by \`node bench/run.mjs --write\` (see [README.md](README.md)). Figures from one run on one machine: compare ratios, not absolute rates, across machines.\n\n${text}`,
  );
  log(`wrote ${file}`);
}
