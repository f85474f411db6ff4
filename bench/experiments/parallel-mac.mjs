// Experiment: does computing Fernet's HMAC on a second thread, in parallel with AES-CBC, make a
// 1 MiB round trip faster on this machine? (The idea left open by issue 2's first session.)
//
//   node bench/experiments/parallel-mac.mjs [--seconds S] [--rounds N]
//
// Three variants of the same round trip (encrypt 1 MiB to a Fernet token, decrypt it), built on
// node:crypto as @keystore/core's Fernet does, interleaved round by round, median shown:
//   sequential  AES-CBC, then HMAC, on the main thread (what the library does)
//   parallel    a worker thread HMACs the ciphertext while the main thread is still encrypting
//               (64 KiB steps through a SharedArrayBuffer, blocking handoff with Atomics), and
//               HMACs the received token while the main thread decrypts it
//   par-encrypt only the encrypt side in parallel
// Every variant's tokens are checked against @keystore/core's Fernet first (run `pnpm build`).
// Not part of `pnpm bench`: it informed a design decision (see bench/README.md).

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { parseArgs } from 'node:util';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Fernet } from '@keystore/core';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '0.7' }, rounds: { type: 'string', default: '7' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const STEP = 64 * 1024;

const key = Fernet.generateKey();
const fernet = new Fernet(key);
const raw = Buffer.from(key, 'base64url');
const signingKey = createSecretKey(raw.subarray(0, 16));
const encryptionKey = createSecretKey(raw.subarray(16, 32));
raw.fill(0);
const payload = randomBytes(1 << 20);

const local = Buffer.allocUnsafeSlow(2 << 20);
const shared = Buffer.from(new SharedArrayBuffer(2 << 20));
const text = Buffer.allocUnsafeSlow(3 << 20);
// control words: 0 = job number, 1 = bytes ready for the MAC, 2 = job number done
const control = new Int32Array(new SharedArrayBuffer(16));
const { port1, port2 } = new MessageChannel();

const worker = new Worker(
  `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const { bytes, controlBuffer, port } = workerData;
const buf = Buffer.from(bytes);
const control = new Int32Array(controlBuffer);
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  const message = receiveMessageOnPort(port);
  if (message === undefined) continue;
  const { job, key, length, macAt } = message.message;
  seen = job;
  const hmac = createHmac('sha256', key);
  let done = 0;
  while (done < length) {
    let ready = Atomics.load(control, 1);
    while (ready <= done) { Atomics.wait(control, 1, ready, 50); ready = Atomics.load(control, 1); }
    ready = Math.min(ready, length);
    hmac.update(buf.subarray(done, ready));
    done = ready;
  }
  hmac.digest().copy(buf, macAt);
  Atomics.store(control, 2, job);
  Atomics.notify(control, 2);
}`,
  {
    eval: true,
    workerData: { bytes: shared.buffer, controlBuffer: control.buffer, port: port2 },
    transferList: [port2],
  },
);
worker.unref();

let job = 0;
function post(length, macAt, ready) {
  job++;
  Atomics.store(control, 1, ready);
  port1.postMessage({ job, key: signingKey, length, macAt });
  Atomics.store(control, 0, job);
  Atomics.notify(control, 0);
}
function awaitMac() {
  while (Atomics.load(control, 2) !== job) Atomics.wait(control, 2, Atomics.load(control, 2), 100);
}
function publish(ready) {
  Atomics.store(control, 1, ready);
  Atomics.notify(control, 1);
}

function header(buf, iv) {
  buf[0] = 0x80;
  buf.writeUInt32BE(0, 1);
  buf.writeUInt32BE(Math.floor(Date.now() / 1000), 5);
  buf.set(iv, 9);
}
/** base64url with padding, flat, as the library writes it. */
function finish(buf, length) {
  const b64 = buf.toString('base64url', 0, length);
  const padding = (4 - (b64.length & 3)) & 3;
  const written = text.write(b64, 0, 'latin1');
  text.fill(61, written, written + padding);
  return text.toString('latin1', 0, written + padding);
}
const decodedLength = (token) =>
  ((token.length - (token.endsWith('==') ? 2 : token.endsWith('=') ? 1 : 0)) * 3) >>> 2;

function encryptSequential(data) {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  const body = cipher.update(data);
  const tail = cipher.final();
  const macAt = 25 + body.length + tail.length;
  header(local, iv);
  local.set(body, 25);
  local.set(tail, 25 + body.length);
  createHmac('sha256', signingKey).update(local.subarray(0, macAt)).digest().copy(local, macAt);
  return finish(local, macAt + 32);
}
function encryptParallel(data) {
  const iv = randomBytes(16);
  const macAt = 25 + data.length + 16 - (data.length % 16);
  header(shared, iv);
  post(macAt, macAt, 25);
  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  let at = 25;
  for (let i = 0; i < data.length; i += STEP) {
    const out = cipher.update(data.subarray(i, i + STEP));
    shared.set(out, at);
    at += out.length;
    publish(at);
  }
  const tail = cipher.final();
  shared.set(tail, at);
  publish(at + tail.length);
  awaitMac();
  return finish(shared, macAt + 32);
}
function unpad(padded) {
  return padded.subarray(0, padded.length - padded[padded.length - 1]);
}
function decryptSequential(token) {
  const length = decodedLength(token);
  local.write(token, 0, length, 'base64url');
  const macAt = length - 32;
  const mac = createHmac('sha256', signingKey).update(local.subarray(0, macAt)).digest();
  if (!timingSafeEqual(mac, local.subarray(macAt, length))) throw new Error('invalid token');
  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, local.subarray(9, 25));
  decipher.setAutoPadding(false);
  const padded = decipher.update(local.subarray(25, macAt));
  decipher.final();
  return unpad(padded);
}
const received = Buffer.alloc(32);
function decryptParallel(token) {
  const length = decodedLength(token);
  shared.write(token, 0, length, 'base64url');
  const macAt = length - 32;
  received.set(shared.subarray(macAt, length));
  post(macAt, length, macAt); // the worker writes the computed MAC right after the token
  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, shared.subarray(9, 25));
  decipher.setAutoPadding(false);
  const padded = decipher.update(shared.subarray(25, macAt));
  decipher.final();
  awaitMac();
  if (!timingSafeEqual(shared.subarray(length, length + 32), received)) {
    padded.fill(0);
    throw new Error('invalid token');
  }
  return unpad(padded);
}

const same = (a) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), payload) === 0;
for (const [encrypt, decrypt] of [
  [encryptSequential, decryptSequential],
  [encryptParallel, decryptParallel],
]) {
  if (!same(fernet.decrypt(encrypt(payload))) || !same(decrypt(fernet.encrypt(payload))))
    throw new Error(`${encrypt.name}/${decrypt.name} disagree with @keystore/core`);
}

const variants = {
  sequential: () => decryptSequential(encryptSequential(payload)),
  parallel: () => decryptParallel(encryptParallel(payload)),
  'par-encrypt': () => decryptSequential(encryptParallel(payload)),
};
const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(variants)) {
    const start = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    do {
      run();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < SECONDS);
    rates[name].push(n / elapsed);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(rates.sequential);
console.log(`1 MiB Fernet round trips per second, median of ${ROUNDS} interleaved rounds of ${SECONDS} s:`);
for (const [name, xs] of Object.entries(rates)) {
  const m = median(xs);
  console.log(
    `  ${name.padEnd(12)} ${m.toFixed(0).padStart(5)}/s  (${Math.min(...xs).toFixed(0)} – ${Math.max(...xs).toFixed(0)})  ${(m / base).toFixed(2)}x sequential`,
  );
}
process.exit(0);
