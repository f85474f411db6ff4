// The payloads every case encrypts, and the checks the contenders are verified with.

/** A..Z repeated: ASCII, so the string the npm libraries take is the same bytes. */
export function payloadText(size) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return alphabet.repeat(Math.ceil(size / alphabet.length)).slice(0, size);
}

export const payloadBytes = (size) => Buffer.from(payloadText(size), 'ascii');

export const sameBytes = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** A verification step: its name when `ok`, else an error naming it. */
export function check(ok, what) {
  if (!ok) throw new Error(`${what}: wrong result`);
  return what;
}
