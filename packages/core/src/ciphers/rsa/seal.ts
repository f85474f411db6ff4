import {
  constants,
  createCipheriv,
  createDecipheriv,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import {
  DEK_LENGTH,
  HYBRID_VERSION,
  hybridLayout,
  hybridLength,
  NONCE_LENGTH,
  TAG_LENGTH,
} from './hybrid-format.js';
import type { RsaOaepHash } from './oaep-params.js';

/**
 * The Node primitives behind `RsaOaep`: raw OAEP through OpenSSL and the
 * hybrid format of `hybrid-format.ts` (OAEP-wrapped AES-256-GCM key). The
 * open functions return `undefined` on any failure, never a reason: the
 * caller turns every failure into the one `InvalidToken`.
 */
export interface OaepParams {
  readonly hash: RsaOaepHash;
  /** The OAEP label; empty means none (RFC 8017's default). */
  readonly label: Uint8Array;
}

function options(key: KeyObject, params: OaepParams) {
  return {
    key,
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: params.hash,
    oaepLabel: params.label.length > 0 ? params.label : undefined,
  };
}

/** Bytes that own their whole ArrayBuffer, so `.buffer` never exposes a shared pool. */
function owned(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return new Uint8Array(buf.buffer);
  const copy = new Uint8Array(buf);
  buf.fill(0);
  return copy;
}

/** Raw OAEP: exactly k bytes. The message must fit (at most k - 2 * hLen - 2 bytes). */
export function sealRaw(key: KeyObject, params: OaepParams, message: Uint8Array): Uint8Array {
  return owned(publicEncrypt(options(key, params), message));
}

export function openRaw(key: KeyObject, params: OaepParams, ciphertext: Uint8Array): Uint8Array | undefined {
  try {
    return owned(privateDecrypt(options(key, params), ciphertext));
  } catch {
    return undefined;
  }
}

/** Hybrid: version, OAEP-wrapped fresh AES-256 key, nonce, AES-256-GCM ciphertext and tag. */
export function sealHybrid(key: KeyObject, params: OaepParams, k: number, message: Uint8Array): Uint8Array {
  const at = hybridLayout(k);
  const dek = randomBytes(DEK_LENGTH);
  try {
    const out = new Uint8Array(hybridLength(k, message.length));
    out[0] = HYBRID_VERSION;
    out.set(publicEncrypt(options(key, params), dek), at.wrappedKey);
    const nonce = randomBytes(NONCE_LENGTH);
    out.set(nonce, at.nonce);
    const cipher = createCipheriv('aes-256-gcm', dek, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(out.subarray(0, at.nonce));
    const body = cipher.update(message);
    out.set(body, at.body);
    out.set(cipher.final(), at.body + body.length);
    out.set(cipher.getAuthTag(), out.length - TAG_LENGTH);
    return out;
  } finally {
    dek.fill(0);
  }
}

export function openHybrid(
  key: KeyObject,
  params: OaepParams,
  k: number,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  const at = hybridLayout(k);
  const dek = openRaw(key, params, ciphertext.subarray(at.wrappedKey, at.nonce));
  if (dek === undefined) return undefined;
  let body: Buffer | undefined;
  try {
    if (dek.length !== DEK_LENGTH) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', dek, ciphertext.subarray(at.nonce, at.body), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(ciphertext.subarray(0, at.nonce));
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
    body = decipher.update(ciphertext.subarray(at.body, ciphertext.length - TAG_LENGTH));
    decipher.final();
    return owned(body);
  } catch {
    // GCM releases plaintext before it checks the tag: wipe what was not authentic.
    body?.fill(0);
    return undefined;
  } finally {
    dek.fill(0);
  }
}
