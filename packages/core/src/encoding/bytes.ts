/** Data accepted by the ciphers: bytes, or a string encoded as UTF-8. */
export type Data = string | Uint8Array;

/** Bytes of `data` without copying when it already is bytes. */
export function toBuffer(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('data must be a string or a Uint8Array');
}
