import { InvalidArgument } from '../errors/keystore-error.js';
import { kindOf } from '../util/check-options.js';

/** Data accepted by the ciphers: bytes, or a string encoded as UTF-8. */
export type Data = string | Uint8Array;

/**
 * Bytes of `data` without copying when it already is bytes.
 * @param where the method, for the message (`encrypt: data must be ...`)
 * @throws InvalidArgument when `data` is neither a string nor a Uint8Array
 */
export function toBuffer(data: Data, where?: string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw notData(data, where);
}

/** The error for data that is neither a string nor bytes. */
export function notData(data: unknown, where?: string): InvalidArgument {
  const prefix = where === undefined ? '' : `${where}: `;
  return new InvalidArgument(`${prefix}data must be a string or a Uint8Array, got ${kindOf(data)}`);
}
