// Peak memory of one large payload through a Keystore (memory provider): encrypt, then decrypt.
//
//   pnpm build && node --expose-gc bench/memory-payload.mjs [--mib 200] [--string]
//
// Prints the peak resident set size (process.resourceUsage().maxRSS) above the
// process's size before the payload existed, in MB and as a multiple of the
// payload size. The payload itself, the envelope and the decrypted copy are
// all counted: they are what a caller holds.
import { randomFillSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createMemoryProvider, Keystore } from '@keystore/core';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '200' }, string: { type: 'boolean', default: false } },
});
const size = Math.round(Number(values.mib) * 1024 * 1024);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const keystore = new Keystore({ provider: await createMemoryProvider({ keys: ['big'] }), defaultKey: 'big' });
// Warm up every code path on a small payload first, so its allocations are not counted.
await keystore.decrypt(await keystore.encrypt(new Uint8Array(1024)));
globalThis.gc();
const before = process.memoryUsage().rss;

let bytes = Buffer.allocUnsafeSlow(size);
for (let i = 0; i < size; i += 65536) randomFillSync(bytes, i, Math.min(65536, size - i));
// --string: the payload as a string of the same length (ASCII), as a caller with text would pass it.
if (values.string) for (let i = 0; i < size; i++) bytes[i] = 0x20 + ((bytes[i] ?? 0) % 95);
const payload = values.string ? bytes.toString('latin1') : bytes;
if (values.string) bytes = undefined; // the caller holds the string only

const t0 = performance.now();
const envelope = await keystore.encrypt(payload);
const t1 = performance.now();
const encryptPeak = process.resourceUsage().maxRSS * 1024;
const plaintext = await keystore.decrypt(envelope);
const t2 = performance.now();
// Read before the check below, whose string comparison allocates.
const peak = process.resourceUsage().maxRSS * 1024;
const same = values.string
  ? Buffer.from(plaintext).toString('latin1') === payload
  : Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).equals(payload);
if (!same) throw new Error('round trip mismatch');

const mb = (n) => (n / 1e6).toFixed(0);
console.log(
  JSON.stringify({
    node: process.version,
    payload: values.string ? 'string' : 'bytes',
    payloadMiB: Number(values.mib),
    envelopeChars: envelope.length,
    peakAboveStartMB: Number(mb(peak - before)),
    multipleOfPayload: Number(((peak - before) / size).toFixed(2)),
    encryptPeakMultiple: Number(((encryptPeak - before) / size).toFixed(2)),
    encryptMs: Math.round(t1 - t0),
    decryptMs: Math.round(t2 - t1),
  }),
);
