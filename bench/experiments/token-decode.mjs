// Experiment: what does checking that a Fernet token is canonical base64url cost on decrypt?
//
//   node bench/experiments/token-decode.mjs [--seconds S] [--rounds N] [--core PATH]
//
// Times `Fernet.decrypt` of one 64 B and one 1 MiB token from @keystore/core's dist (run
// `pnpm build` first; --core names another build's index.js, e.g. a copy of the dist made
// before a change, to compare), then, on the 1 MiB token's string alone, the ways of checking
// that it is canonical:
//   regex       one /^[A-Za-z0-9_-]*={0,2}$/ test (the alphabet and where `=` may be)
//   scan        a loop over charCodeAt doing the same
//   re-encode   decode, encode again, compare the strings (the header's check)
//   chosen      what decodeBase64UrlPadded adds to the decoding: length, last character,
//               indexOf '+' and '/', and a test for characters above U+00FF (on a one-byte
//               string V8 answers it without scanning); the rest is the decoded length
//   decode      Buffer.write of the token, the decoding every decrypt does anyway (for scale)
// Each figure is the median over rounds of the time of one operation.
// Not part of `pnpm bench`: it informed a design decision (see bench/README.md).

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '0.3' },
    rounds: { type: 'string', default: '7' },
    core: { type: 'string' },
  },
});
const { Fernet } = await import(values.core ? pathToFileURL(resolve(values.core)).href : '@keystore/core');
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

/** Median time of one call of `fn`, in microseconds. */
function time(fn) {
  let batch = 1;
  for (let start = performance.now(); performance.now() - start < 50; ) {
    for (let i = 0; i < batch; i++) fn();
    batch *= 2;
  }
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < batch; i++) fn();
      ops += batch;
      elapsed = performance.now() - start;
    } while (elapsed < SECONDS * 1000);
    rounds.push((elapsed * 1000) / ops);
  }
  rounds.sort((a, b) => a - b);
  return rounds[rounds.length >> 1];
}

const show = (name, us) => console.log(`${name.padEnd(28)} ${us < 100 ? us.toFixed(2) : us.toFixed(0)} µs`);

const f = new Fernet(Fernet.generateKey());
const small = f.encrypt(new Uint8Array(64).fill(65));
const large = f.encrypt(new Uint8Array(1024 * 1024).fill(65));
let sink = 0;

console.log(`node ${process.version}, ${ROUNDS} rounds of ${SECONDS} s, median`);
show(
  'decrypt 64 B',
  time(() => (sink += f.decrypt(small).length)),
);
show(
  'decrypt 1 MiB',
  time(() => (sink += f.decrypt(large).length)),
);

const CANONICAL = /^[A-Za-z0-9_-]*={0,2}$/;
function scan(text) {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95))
      return false;
  }
  return text.length - end <= 2;
}
const WIDE = /[\u0100-\uffff]/;
const CLEAN_LAST = ['', 'AEIMQUYcgkosw048', 'AQgw'];
function chosen(text) {
  if ((text.length & 3) !== 0) return false;
  let end = text.length;
  while (end > text.length - 2 && end > 0 && text.charCodeAt(end - 1) === 61) end--;
  const padding = text.length - end;
  if (padding > 0 && !CLEAN_LAST[padding].includes(text.charAt(end - 1))) return false;
  return text.indexOf('+') === -1 && text.indexOf('/') === -1 && !WIDE.test(text);
}
const target = Buffer.allocUnsafe(large.length);
show(
  '1 MiB token: regex',
  time(() => (sink += CANONICAL.test(large) ? 1 : 0)),
);
show(
  '1 MiB token: scan',
  time(() => (sink += scan(large) ? 1 : 0)),
);
show(
  '1 MiB token: re-encode',
  time(() => {
    const bytes = Buffer.from(large, 'base64url');
    sink += bytes.toString('base64url') === large.replace(/=+$/, '') ? 1 : 0;
  }),
);
show(
  '64 B token: chosen',
  time(() => (sink += chosen(small) ? 1 : 0)),
);
show(
  '1 MiB token: chosen',
  time(() => (sink += chosen(large) ? 1 : 0)),
);
show(
  '1 MiB token: decode',
  time(() => (sink += target.write(large, 0, 'base64url'))),
);
if (sink === 0) console.log('');
