// What bounds the envelope round trip at small payloads: the per-message data key's own crypto.
//
//   pnpm build && node bench/experiments/envelope-floor.mjs [--size 1024] [--rounds 7]
//
// Three contenders, interleaved round by round, all through the same async loop:
// - bare Fernet: @keystore/core's Fernet round trip with a key made once (the bench baseline);
// - design floor: the crypto every envelope of our design must do and nothing else, in plain
//   node:crypto with no validation, no envelope text and no provider: a random 32-byte data key,
//   AES-256-GCM seal of it (AAD of the binding) and open, SHA-256 of the context twice (encrypt
//   and decrypt each record/check it), and the Fernet round trip under the data key (AES-CBC +
//   HMAC with raw key bytes, base64url both ways);
// - ours: a Keystore over the memory provider with a context.
// It prints each one's round trips per second and ours and the floor as fractions of bare
// Fernet: the floor's fraction is the most any implementation of this design reaches.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
} from 'node:crypto';
import { parseArgs } from 'node:util';
import { createMemoryProvider, Fernet, Keystore } from '@keystore/core';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '1024' }, rounds: { type: 'string', default: '7' } },
});
const size = Number(values.size);
const rounds = Number(values.rounds);
const data = randomBytes(size);
const context = { table: 'patients', id: '4711' };
const contextBytes = Buffer.from(
  '\0\0\0\u0002id\0\0\0\u00044711\0\0\0\u0005table\0\0\0\u0008patients',
  'latin1',
);
const aad = Buffer.concat([Buffer.from('keystore/v1\u0006memory\0\u0001k\0\0\0\u0001'), contextBytes]);

const fernet = new Fernet(Fernet.generateKey());
const keystore = new Keystore({ provider: await createMemoryProvider({ keys: ['k'] }), defaultKey: 'k' });
const wrappingKey = createSecretKey(randomBytes(32));

function floorRoundTrip() {
  // encrypt: digest, data key, wrap, Fernet under it
  createHash('sha256').update(contextBytes).digest();
  const dek = randomBytes(32);
  const nonce = randomBytes(12);
  const seal = createCipheriv('aes-256-gcm', wrappingKey, nonce);
  seal.setAAD(aad);
  const wrapped = Buffer.concat([seal.update(dek), seal.final(), seal.getAuthTag()]);
  const iv = randomBytes(16);
  const enc = createCipheriv('aes-128-cbc', dek.subarray(16), iv);
  const ct = Buffer.concat([enc.update(data), enc.final()]);
  const body = Buffer.concat([Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 1]), iv, ct]);
  const mac = createHmac('sha256', dek.subarray(0, 16)).update(body).digest();
  const token = Buffer.concat([body, mac]).toString('base64url');
  // decrypt: digest, unwrap, Fernet under it
  createHash('sha256').update(contextBytes).digest();
  const open = createDecipheriv('aes-256-gcm', wrappingKey, nonce);
  open.setAAD(aad);
  open.setAuthTag(wrapped.subarray(32));
  const key = Buffer.concat([open.update(wrapped.subarray(0, 32)), open.final()]);
  const raw = Buffer.from(token, 'base64url');
  const check = createHmac('sha256', key.subarray(0, 16))
    .update(raw.subarray(0, raw.length - 32))
    .digest();
  if (!check.equals(raw.subarray(raw.length - 32))) throw new Error('floor: MAC mismatch');
  const dec = createDecipheriv('aes-128-cbc', key.subarray(16), raw.subarray(9, 25));
  return Buffer.concat([dec.update(raw.subarray(25, raw.length - 32)), dec.final()]);
}

const contenders = {
  'bare Fernet': async () => fernet.decrypt(fernet.encrypt(data)),
  'design floor': async () => floorRoundTrip(),
  ours: async () => keystore.decrypt(await keystore.encrypt(data, { context }), { context }),
};
if (!floorRoundTrip().equals(data)) throw new Error('floor round trip is wrong');

async function rate(fn, ms) {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 8; i++) await fn();
    n += 8;
  }
  return (n * 1000) / ms;
}
const ms = size > 65536 ? 1000 : 400;
for (const fn of Object.values(contenders)) await rate(fn, 200);
const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (let r = 0; r < rounds; r++)
  for (const [k, fn] of Object.entries(contenders)) results[k].push(await rate(fn, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const bare = results['bare Fernet'];
const ratio = (k) => results[k].map((v, i) => v / bare[i]);
console.log(
  `${size} B, ${rounds} rounds, Node ${process.version}, load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const k of Object.keys(contenders)) {
  const r = ratio(k);
  console.log(
    `${k.padEnd(13)} ${median(results[k]).toFixed(0).padStart(7)}/s  ÷ bare Fernet: median ${median(r).toFixed(3)} (${Math.min(...r).toFixed(3)} – ${Math.max(...r).toFixed(3)})`,
  );
}
