// Writes envelope-v2.json: test vectors for docs/envelope-format.md, "Several recipients: version 2".
// Like generate-envelope-vectors.mjs (v1), written from the format page alone, with node:crypto
// primitives and none of @keystore/core's code. Deterministic: every data key, nonce, IV and
// timestamp is fixed here, so a re-run gives the same file byte for byte.
// Run: node docs/vectors/generate-envelope-v2-vectors.mjs > docs/vectors/envelope-v2.json
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';

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
const hex = (b) => b.toString('hex');
const seq = (n, start) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const sha256 = (b) => createHash('sha256').update(b).digest();
const hkdf = (ikm, info) => Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), utf8(info), 32));
const b64url = (b) => b.toString('base64url');
const fernetB64 = (b) => b.toString('base64').replaceAll('+', '-').replaceAll('/', '_');

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
  return Buffer.concat([body, mac]);
}

const commitment = (dataKey) => hkdf(dataKey, 'keystore/v2 key commitment');

/** Spec "Local wrap": the wrapped key and the values it is made from. */
function localWrap({ material, provider, keyId, version }, wrapContext, dataKey, nonce) {
  const wrappingKey = hkdf(material, 'keystore/v1 local-wrap');
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
  return { wrappingKey, aad, wrappedKey };
}

function recipientBytes({ provider, keyId, version, wrappedKey }) {
  return Buffer.concat([
    u8(utf8(provider).length),
    utf8(provider),
    u16(utf8(keyId).length),
    utf8(keyId),
    u32(version),
    u16(wrappedKey.length),
    wrappedKey,
  ]);
}

function header({ algorithm = 1, digest, keyCommitment, count, recipients }) {
  return Buffer.concat([
    u8(algorithm),
    digest,
    keyCommitment,
    u8(count ?? recipients.length),
    ...recipients.map(recipientBytes),
  ]);
}
const envelopeOf = (headerBytes, token) => `ks2.${b64url(headerBytes)}.${fernetB64(token)}`;

/**
 * A second data key with the same signing half (bytes 0..15) as `dataKey` and another
 * encryption half under which the payload still decrypts to well-padded bytes: the payload's
 * MAC verifies under it and it yields another plaintext. This is the attack the key
 * commitment stops; a reader that skips the commitment check reads that other plaintext.
 */
function collidingDataKey(dataKey, token) {
  const iv = token.subarray(9, 25);
  const ciphertext = token.subarray(25, token.length - 32);
  for (let counter = 0; ; counter++) {
    const half = sha256(Buffer.concat([utf8('another encryption half '), u32(counter)])).subarray(0, 16);
    const decipher = createDecipheriv('aes-128-cbc', half, iv).setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    const pad = padded.at(-1);
    if (pad >= 1 && pad <= 16 && padded.subarray(-pad).every((b) => b === pad)) {
      return { key: Buffer.concat([dataKey.subarray(0, 16), half]), plaintext: padded.subarray(0, -pad) };
    }
  }
}

// Master keys (the materials a reader is given). Each is version `version` of `keyId`.
const memoryEu = { provider: 'memory', keyId: 'eu', version: 1, material: seq(32, 0x00) };
const fileBreakGlass = { provider: 'file', keyId: 'break-glass', version: 1, material: seq(32, 0x20) };
const envOps = { provider: 'env', keyId: 'ops', version: 4, material: seq(32, 0x60) };
const memoryUs = { provider: 'memory', keyId: 'us', version: 2, material: seq(32, 0x80) };
const fileEleves = { provider: 'file', keyId: 'élèves', version: 2, material: seq(32, 0xe0) };
const memoryKlyuch = { provider: 'memory', keyId: 'ключ', version: 7, material: seq(32, 0x11) };

const nonceFor = (i) => seq(12, 0xa0 + 16 * i);
const iv = seq(16, 0xc0);
const timestamp = 1_700_000_000;

/**
 * A valid vector. `wrapDataKeys[i]`, if given, is the data key recipient i wraps instead of
 * the envelope's (only for the "skip the first recipient" vector).
 */
function vector({ name, description, keys, context, plaintext, dataKey, wrapDataKeys = [] }) {
  const wrapContext = { ...context, 'keystore:alg': 'fernet' };
  const digest = sha256(canonical(context));
  const keyCommitment = commitment(dataKey);
  const recipients = keys.map((k, i) => {
    const wrapped = wrapDataKeys[i] ?? dataKey;
    const { wrappingKey, aad, wrappedKey } = localWrap(k, wrapContext, wrapped, nonceFor(i));
    return { ...k, wrapped, wrappingKey, aad, nonce: nonceFor(i), wrappedKey };
  });
  const headerBytes = header({ digest, keyCommitment, recipients });
  const token = fernetToken(dataKey, plaintext, timestamp, iv);
  return {
    name,
    description,
    context,
    plaintextHex: hex(plaintext),
    recipients: recipients.map((r) => ({
      provider: r.provider,
      keyId: r.keyId,
      version: r.version,
      masterMaterial: b64url(r.material),
      intermediate: {
        wrappingKeyHex: hex(r.wrappingKey),
        wrapAadHex: hex(r.aad),
        wrapNonceHex: hex(r.nonce),
        ...(r.wrapped === dataKey
          ? {}
          : {
              wrappedDataKeyHex: hex(r.wrapped),
              wrappedDataKeyCommitmentHex: hex(commitment(r.wrapped)),
            }),
        wrappedKeyHex: hex(r.wrappedKey),
        recipientHex: hex(recipientBytes(r)),
      },
    })),
    intermediate: {
      canonicalContextHex: hex(canonical(context)),
      contextDigestHex: hex(digest),
      wrapContext,
      canonicalWrapContextHex: hex(canonical(wrapContext)),
      dataKeyHex: hex(dataKey),
      keyCommitmentHex: hex(keyCommitment),
      fernetIvHex: hex(iv),
      fernetTimestamp: timestamp,
      headerHex: hex(headerBytes),
    },
    envelope: envelopeOf(headerBytes, token),
  };
}

const dataKey = seq(32, 0x40);
const skipDataKey = seq(32, 0x50);
const skipPlaintext = utf8('only the committed key reads this');
const colliding = collidingDataKey(skipDataKey, fernetToken(skipDataKey, skipPlaintext, timestamp, iv));

const valid = [
  vector({
    name: 'two-recipients',
    description: 'two recipients (memory eu, file break-glass), empty context',
    keys: [memoryEu, fileBreakGlass],
    context: {},
    plaintext: utf8('hello, recipients'),
    dataKey,
  }),
  vector({
    name: 'three-recipients',
    description: 'three recipients across providers, context with two entries, key versions 2, 1 and 4',
    keys: [memoryUs, fileBreakGlass, envOps],
    context: { table: 'patients', record: '4711' },
    plaintext: utf8('blood type: AB+'),
    dataKey: seq(32, 0x44),
  }),
  vector({
    name: 'one-recipient',
    description: 'a version 2 envelope with one recipient (writers use v1 for that, readers accept it)',
    keys: [memoryEu],
    context: { tenant: 'north' },
    plaintext: utf8('single'),
    dataKey: seq(32, 0x48),
  }),
  vector({
    // 'Ａ' (U+FF21) sorts before '😀' (U+1F600) by UTF-8 bytes, after it by UTF-16 code units.
    name: 'unicode',
    description: 'Unicode key ids and a Unicode context whose UTF-8 order differs from its UTF-16 order',
    keys: [fileEleves, memoryKlyuch],
    context: { école: 'Lycée', Ω: '✓', '😀': 'smile', Ａ: '全角', z: '' },
    plaintext: utf8('Grüße, 世界 🌍'),
    dataKey: seq(32, 0x4c),
  }),
  vector({
    name: 'empty-payload',
    description: 'empty plaintext, two recipients',
    keys: [fileBreakGlass, memoryEu],
    context: { purpose: 'empty' },
    plaintext: Buffer.alloc(0),
    dataKey: seq(32, 0x30),
  }),
  vector({
    name: 'skip-first',
    description:
      "the first recipient's wrapped key is of another data key (same signing half, so the payload's MAC verifies under it, and it decrypts to other bytes); its commitment fails and a reader must go on to the second, which is right",
    keys: [memoryEu, fileBreakGlass],
    context: { case: 'skip' },
    plaintext: skipPlaintext,
    dataKey: skipDataKey,
    wrapDataKeys: [colliding.key],
  }),
];
valid[5].otherDataKeyPlaintextHex = hex(colliding.plaintext);

// ---- invalid vectors, each made from one valid vector and read with its materials ----

const byName = Object.fromEntries(valid.map((v) => [v.name, v]));
function parts(v) {
  const [, h, payload] = v.envelope.split('.');
  return { headerBytes: Buffer.from(h, 'base64url'), payload };
}
/** The pieces a valid vector's header is made of, to rebuild it with changes. */
function pieces(v) {
  const { headerBytes, payload } = parts(v);
  return {
    payload,
    digest: headerBytes.subarray(1, 33),
    keyCommitment: headerBytes.subarray(33, 65),
    recipients: v.recipients.map((r) => ({
      provider: r.provider,
      keyId: r.keyId,
      version: r.version,
      wrappedKey: Buffer.from(r.intermediate.wrappedKeyHex, 'hex'),
    })),
  };
}
const withHeader = (headerBytes, payload) => `ks2.${b64url(headerBytes)}.${payload}`;

const two = byName['two-recipients'];
const p2 = pieces(two);
const three = byName['three-recipients'];
const p3 = pieces(three);

const flippedCommitment = Buffer.from(p2.keyCommitment);
flippedCommitment[7] ^= 0x01;

// Every recipient wraps another data key with the same signing half: the MAC verifies under it,
// only the commitment tells it apart.
const twoToken = Buffer.from(p2.payload, 'base64url');
const other = collidingDataKey(dataKey, twoToken);
const otherWraps = [memoryEu, fileBreakGlass].map((k, i) => ({
  provider: k.provider,
  keyId: k.keyId,
  version: k.version,
  wrappedKey: localWrap(k, { 'keystore:alg': 'fernet' }, other.key, nonceFor(8 + i)).wrappedKey,
}));

// A duplicate of memory eu under another version (a genuine wrap with material of its own):
// a reader that compared (provider, key id, version) would let it through.
const euV2 = { ...memoryEu, version: 2, material: seq(32, 0x90) };
const euV2Recipient = {
  provider: 'memory',
  keyId: 'eu',
  version: 2,
  wrappedKey: localWrap(euV2, { 'keystore:alg': 'fernet' }, dataKey, nonceFor(5)).wrappedKey,
};

// 17 genuine recipients: the two of `two-recipients` and 15 more memory keys.
const extra = Array.from({ length: 15 }, (_, i) => {
  const k = {
    provider: 'memory',
    keyId: `extra-${String(i + 1).padStart(2, '0')}`,
    version: 1,
    material: seq(32, 0x10 + i),
  };
  return { ...k, wrappedKey: localWrap(k, { 'keystore:alg': 'fernet' }, dataKey, nonceFor(i)).wrappedKey };
});
const seventeen = [...p2.recipients, ...extra];

const h2 = parts(two).headerBytes;
const h2Text = b64url(h2);
// The last character carries low bits that the bytes do not use (h2 is not 3k bytes long):
// another character that differs only there decodes to the same bytes.
if (h2.length % 3 === 0) throw new Error('two-recipients no longer suits the non-canonical header case');
const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(h2Text.at(-1));
const sameBits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 0x01];

// The payload with one ciphertext byte changed, still canonical base64url: the commitment is
// fine, the MAC fails.
const tampered = Buffer.from(twoToken);
tampered[30] ^= 0x01;

const flippedDigest = Buffer.from(p2.digest);
flippedDigest[0] ^= 0x80;

const versionZero = p2.recipients.map((r, i) => (i === 1 ? { ...r, version: 0 } : r));
const badProvider = p2.recipients.map((r, i) => (i === 1 ? { ...r, provider: 'File' } : r));

const invalid = [
  {
    description: 'key commitment with one bit changed (every recipient unwraps, none commits)',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, keyCommitment: flippedCommitment }), p2.payload),
    context: two.context,
  },
  {
    description:
      "every recipient's wrapped key unwraps to another 32-byte data key (same signing half, so the MAC would verify); none matches the commitment",
    materialsOf: 'two-recipients',
    otherDataKeyHex: hex(other.key),
    otherDataKeyPlaintextHex: hex(other.plaintext),
    envelope: withHeader(header({ ...p2, recipients: otherWraps }), p2.payload),
    context: two.context,
  },
  {
    description: 'duplicate recipient (memory eu twice, the same bytes)',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: [...p2.recipients, p2.recipients[0]] }), p2.payload),
    context: two.context,
  },
  {
    description: 'duplicate recipient: memory eu again under another version (same provider type and key id)',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: [...p2.recipients, euV2Recipient] }), p2.payload),
    context: two.context,
  },
  {
    description: 'recipient count 0, nothing after it',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: [] }), p2.payload),
    context: two.context,
  },
  {
    description: 'recipient count 17, with 17 well-formed recipients (each a genuine wrap of the data key)',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: seventeen }), p2.payload),
    context: two.context,
  },
  {
    description: 'recipient count 2 with 3 recipients following',
    materialsOf: 'three-recipients',
    envelope: withHeader(header({ ...p3, count: 2 }), p3.payload),
    context: three.context,
  },
  {
    description: 'one byte after the last recipient',
    materialsOf: 'two-recipients',
    envelope: withHeader(Buffer.concat([h2, u8(0)]), p2.payload),
    context: two.context,
  },
  {
    description: "truncated last recipient (its wrapped key's last byte missing)",
    materialsOf: 'two-recipients',
    envelope: withHeader(h2.subarray(0, -1), p2.payload),
    context: two.context,
  },
  {
    description: 'truncated header: the count says 2, the first recipient ends the header',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, count: 2, recipients: [p2.recipients[0]] }), p2.payload),
    context: two.context,
  },
  {
    description: 'unknown algorithm (2)',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, algorithm: 2 }), p2.payload),
    context: two.context,
  },
  {
    description: 'header whose last character differs in its unused low bits (not canonical base64url)',
    materialsOf: 'two-recipients',
    envelope: `ks2.${h2Text.slice(0, -1)}${sameBits}.${p2.payload}`,
    context: two.context,
  },
  {
    description: 'padded header',
    materialsOf: 'two-recipients',
    envelope: `ks2.${h2Text}==.${p2.payload}`,
    context: two.context,
  },
  {
    description: 'a recipient with key version 0',
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: versionZero }), p2.payload),
    context: two.context,
  },
  {
    description: "a recipient whose provider type is not [a-z][a-z0-9-]* ('File')",
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, recipients: badProvider }), p2.payload),
    context: two.context,
  },
  {
    description:
      'payload with one ciphertext byte changed (commitment fine, MAC fails): InvalidToken, and no other recipient is tried',
    materialsOf: 'two-recipients',
    envelope: withHeader(h2, fernetB64(tampered)),
    context: two.context,
  },
  {
    description: "context digest in the header changed (the caller's context is the right one)",
    materialsOf: 'two-recipients',
    envelope: withHeader(header({ ...p2, digest: flippedDigest }), p2.payload),
    context: two.context,
  },
  {
    description: "the caller's context differs from the one the envelope was made with",
    materialsOf: 'three-recipients',
    envelope: three.envelope,
    context: { table: 'patients', record: '4712' },
  },
  {
    description: 'a version 2 header under the ks1 prefix',
    materialsOf: 'two-recipients',
    envelope: two.envelope.replace(/^ks2\./, 'ks1.'),
    context: two.context,
  },
  {
    description: 'other format version (ks3)',
    materialsOf: 'two-recipients',
    envelope: two.envelope.replace(/^ks2\./, 'ks3.'),
    context: two.context,
  },
];

process.stdout.write(
  `${JSON.stringify(
    {
      format: 'keystore envelope v2',
      notes: [
        'valid: each recipient gives its provider, key id, version and master material (base64url, the material of that version); a reader given all of them, in the order listed, must read plaintextHex.',
        'invalid: each must fail with InvalidToken for a reader given the recipients of the valid vector named by materialsOf, in the order listed there, and the context given. Every one is a plain InvalidToken, with no list of attempts: refused before any recipient is used, by every recipient tried (a reader lists attempts only when their codes are not all InvalidToken), or by the payload itself.',
      ],
      valid,
      invalid,
    },
    null,
    2,
  )}\n`,
);
