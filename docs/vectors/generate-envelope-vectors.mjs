// Writes envelope-v1.json: test vectors for docs/envelope-format.md.
// Deliberately written from the format page alone, with node:crypto primitives
// and none of @keystore/core's code, so the vectors check the page as much as the library.
// Run: node docs/vectors/generate-envelope-vectors.mjs > docs/vectors/envelope-v1.json
import { createCipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';

const u8 = (n) => Buffer.of(n);
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const utf8 = (s) => Buffer.from(s, 'utf8');
const seq = (n, start) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

function canonical(context) {
  const keys = Object.keys(context).sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
  return Buffer.concat(
    keys.flatMap((k) => [u32(utf8(k).length), utf8(k), u32(utf8(context[k]).length), utf8(context[k])]),
  );
}

function fernetToken(key, plaintext, timestamp, iv) {
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const body = Buffer.concat([u8(0x80), ts, iv, ciphertext]);
  const mac = createHmac('sha256', key.subarray(0, 16)).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

function vector({
  description,
  material,
  provider,
  keyId,
  version,
  context,
  plaintext,
  dataKey,
  nonce,
  iv,
  timestamp,
}) {
  const wrapContext = { ...context, 'keystore:alg': 'fernet' };
  const wrappingKey = Buffer.from(
    hkdfSync('sha256', material, Buffer.alloc(0), utf8('keystore/v1 local-wrap'), 32),
  );
  const aad = Buffer.concat([
    utf8('keystore/v1'),
    u8(utf8(provider).length),
    utf8(provider),
    u16(utf8(keyId).length),
    utf8(keyId),
    u32(version),
    canonical(wrapContext),
  ]);
  const gcm = createCipheriv('aes-256-gcm', wrappingKey, nonce);
  gcm.setAAD(aad);
  const sealed = Buffer.concat([gcm.update(dataKey), gcm.final()]);
  const wrappedKey = Buffer.concat([u8(0x01), nonce, sealed, gcm.getAuthTag()]);
  const digest = createHash('sha256').update(canonical(context)).digest();
  const header = Buffer.concat([
    u8(utf8(provider).length),
    utf8(provider),
    u16(utf8(keyId).length),
    utf8(keyId),
    u32(version),
    u8(1),
    digest,
    u16(wrappedKey.length),
    wrappedKey,
  ]);
  const payload = fernetToken(dataKey, plaintext, timestamp, iv);
  return {
    description,
    provider,
    keyId,
    version,
    context,
    plaintextHex: plaintext.toString('hex'),
    masterMaterial: material.toString('base64url'),
    intermediate: {
      canonicalContextHex: canonical(context).toString('hex'),
      contextDigestHex: digest.toString('hex'),
      wrapContext,
      wrappingKeyHex: wrappingKey.toString('hex'),
      wrapAadHex: aad.toString('hex'),
      dataKeyHex: dataKey.toString('hex'),
      wrapNonceHex: nonce.toString('hex'),
      wrappedKeyHex: wrappedKey.toString('hex'),
      fernetIvHex: iv.toString('hex'),
      fernetTimestamp: timestamp,
      headerHex: header.toString('hex'),
    },
    envelope: `ks1.${header.toString('base64url')}.${payload}`,
  };
}

const base = {
  material: seq(32, 0x00),
  provider: 'memory',
  dataKey: seq(32, 0x40),
  nonce: seq(12, 0xa0),
  iv: seq(16, 0xc0),
  timestamp: 1_700_000_000,
};
const vectors = [
  vector({
    ...base,
    description: 'empty context, short text',
    keyId: 'app-data',
    version: 1,
    context: {},
    plaintext: utf8('hello, envelope'),
  }),
  vector({
    ...base,
    description: 'context with two entries, key version 3',
    keyId: 'patients',
    version: 3,
    context: { table: 'patients', record: '4711' },
    plaintext: utf8('blood type: AB+'),
  }),
  vector({
    ...base,
    description: 'UTF-8 key id and context, empty plaintext, file provider',
    provider: 'file',
    keyId: 'élèves',
    version: 2,
    context: { école: 'Lycée', Ω: '✓' },
    plaintext: Buffer.alloc(0),
  }),
];
const [head0, header0, payload0] = vectors[0].envelope.split('.');
const header0Bytes = Buffer.from(header0, 'base64url');
const highBit = Buffer.from(header0Bytes);
highBit[1] |= 0x80; // 'm' of 'memory' with its high bit set
const lastChar = header0.at(-1);
const sameBitsOtherChar = header0.slice(0, -1) + (lastChar === 'A' ? 'B' : 'A');
// The payload must be canonical too: the same token bytes spelled another way are refused.
const payloadData = payload0.replace(/=+$/, '');
const payloadPadding = payload0.slice(payloadData.length);
if (payloadPadding !== '==' || !/[-_]/.test(payloadData))
  throw new Error('vector 0 no longer suits the payload cases');
const strayBits = `${payloadData.slice(0, -1)}${String.fromCharCode(payloadData.charCodeAt(payloadData.length - 1) + 1)}==`;
const negative = [
  {
    description: 'wrong context',
    envelope: vectors[1].envelope,
    context: { table: 'patients', record: '4712' },
  },
  { description: 'missing context', envelope: vectors[1].envelope, context: {} },
  {
    description: 'key version changed in the header',
    envelope: `ks1.${Buffer.from(vectors[0].intermediate.headerHex.replace(/00000001(01)/, '00000002$1'), 'hex').toString('base64url')}.${payload0}`,
    context: {},
  },
  {
    description: 'header with one character too many',
    envelope: `${head0}.${header0}A.${payload0}`,
    context: {},
  },
  {
    description: 'header whose last character differs (not canonical base64url)',
    envelope: `${head0}.${sameBitsOtherChar}.${payload0}`,
    context: {},
  },
  {
    description: 'provider type byte with its high bit set',
    envelope: `${head0}.${highBit.toString('base64url')}.${payload0}`,
    context: {},
  },
  { description: 'text after the payload', envelope: `${vectors[0].envelope}.x`, context: {} },
  { description: 'padded header', envelope: `${head0}.${header0}==.${payload0}`, context: {} },
  { description: 'other format version', envelope: `ks2.${header0}.${payload0}`, context: {} },
  { description: 'payload without its padding', envelope: `${head0}.${header0}.${payloadData}`, context: {} },
  {
    description: 'payload whose last character has stray low bits (not canonical base64url)',
    envelope: `${head0}.${header0}.${strayBits}`,
    context: {},
  },
  {
    description: "payload in the standard base64 alphabet ('+' and '/')",
    envelope: `${head0}.${header0}.${payload0.replaceAll('-', '+').replaceAll('_', '/')}`,
    context: {},
  },
  { description: 'payload with a line break', envelope: `${vectors[0].envelope}\n`, context: {} },
];
process.stdout.write(
  `${JSON.stringify({ format: 'keystore envelope v1', valid: vectors, invalid: negative }, null, 2)}\n`,
);
