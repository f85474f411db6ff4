// The OpenSSL floor of a Fernet round trip: a reference row of the Fernet cases, not a Fernet.

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import { check, payloadBytes, sameBytes } from '../lib/payload.mjs';
import { syncRunner } from '../lib/timing.mjs';

const VERSION = 0x80;
const IV_OFFSET = 9; // version (1) | timestamp (8) | IV (16) | ciphertext | HMAC (32)
const CIPHERTEXT_OFFSET = 25;
const HMAC_LENGTH = 32;

/** IVs as ours draws them (packages/core/src/random/iv-pool.ts): 16-byte slices of a 4 KiB pool. */
function ivPool() {
  const pool = Buffer.allocUnsafeSlow(4096);
  let offset = pool.length;
  return () => {
    if (offset + 16 > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + 16);
    offset += 16;
    return iv;
  };
}

/** Raw token bytes as Fernet's text: base64url with `=` padding. For verification only. */
const tokenText = (raw) => {
  const text = Buffer.from(raw).toString('base64url');
  return text.padEnd(Math.ceil(text.length / 4) * 4, '=');
};

/**
 * The least node:crypto work a Fernet round trip needs, and nothing else. Per round trip: one
 * IV drawn as ours draws it; one AES-128-CBC encryption (createCipheriv, one update, final: Node
 * has no one-shot cipher call; WebCrypto's is async); one HMAC-SHA256 call over exactly the bytes
 * Fernet MACs (version | timestamp | IV | ciphertext), laid out in one reused buffer as a token's
 * bytes are, so each HMAC is a single update; one HMAC verification over the same bytes with
 * timingSafeEqual; one AES-128-CBC decryption (one update, final, the PKCS7 pad read from the
 * last byte). No base64, no strings, no token parsing. Keys are made once, from a Fernet key.
 * Its bytes are a Fernet token: verification checks that ours decrypts them and that it opens
 * ours. Faster than any Fernet in Node can be; the targets section says how close ours comes.
 */
export function floorContender(key, Fernet) {
  const raw = Buffer.from(key, 'base64url');
  const signingKey = createSecretKey(raw.subarray(0, 16));
  const encryptionKey = createSecretKey(raw.subarray(16, 32));
  const nextIv = ivPool();
  let scratch = Buffer.allocUnsafeSlow(64 * 1024);

  /** The token's bytes for `bytes`, in `scratch` (valid until the next call). */
  const seal = (bytes) => {
    const iv = nextIv();
    const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
    const body = cipher.update(bytes);
    const tail = cipher.final();
    const macOffset = CIPHERTEXT_OFFSET + body.length + tail.length;
    if (scratch.length < macOffset + HMAC_LENGTH) scratch = Buffer.allocUnsafeSlow(2 * macOffset);
    const token = scratch.subarray(0, macOffset + HMAC_LENGTH);
    const timestamp = Math.floor(Date.now() / 1000);
    token[0] = VERSION;
    token.writeUInt32BE(Math.floor(timestamp / 0x1_0000_0000), 1);
    token.writeUInt32BE(timestamp >>> 0, 5);
    token.set(iv, IV_OFFSET);
    token.set(body, CIPHERTEXT_OFFSET);
    token.set(tail, CIPHERTEXT_OFFSET + body.length);
    createHmac('sha256', signingKey).update(token.subarray(0, macOffset)).digest().copy(token, macOffset);
    return token;
  };
  /** The plaintext of the token's bytes, or an error. */
  const open = (token) => {
    const macOffset = token.length - HMAC_LENGTH;
    const expected = createHmac('sha256', signingKey).update(token.subarray(0, macOffset)).digest();
    if (!timingSafeEqual(expected, token.subarray(macOffset))) throw new Error('MAC mismatch');
    const decipher = createDecipheriv(
      'aes-128-cbc',
      encryptionKey,
      token.subarray(IV_OFFSET, CIPHERTEXT_OFFSET),
    );
    decipher.setAutoPadding(false);
    const padded = decipher.update(token.subarray(CIPHERTEXT_OFFSET, macOffset));
    decipher.final();
    const pad = padded[padded.length - 1];
    if (!(pad >= 1 && pad <= 16)) throw new Error('bad padding');
    return padded.subarray(0, padded.length - pad);
  };
  const ours = new Fernet(key);

  return {
    id: 'floor',
    name: 'OpenSSL floor: 1 AES-CBC encrypt + 1 HMAC + 1 HMAC verify + 1 AES-CBC decrypt, no base64',
    verify(size) {
      const bytes = payloadBytes(size);
      return [
        check(sameBytes(open(seal(bytes)), bytes), 'round trip'),
        check(sameBytes(ours.decrypt(tokenText(seal(bytes))), bytes), 'its bytes are a token ours decrypts'),
        check(sameBytes(open(Buffer.from(ours.encrypt(bytes), 'base64url')), bytes), 'opens our tokens'),
      ];
    },
    runner(size) {
      const bytes = payloadBytes(size);
      return syncRunner(() => {
        if (open(seal(bytes)).length !== size) throw new Error('wrong length');
      });
    },
  };
}
