import { InvalidArgument } from '../../errors/keystore-error.js';

/** Time checks applied to a token: only when a TTL is given, as in Python's cryptography. */
export interface TimeCheck {
  ttl: number;
  now: number;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function checkSeconds(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgument(`${name} must be a non-negative integer number of seconds`);
  }
}

/** The time check for `decrypt(token, { ttl })`; none without a TTL. */
export function ttlCheck(
  ttl: number | undefined | null,
  now: () => number = nowSeconds,
): TimeCheck | undefined {
  if (ttl === undefined || ttl === null) return undefined;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl))
    throw new InvalidArgument('ttl must be a finite number of seconds');
  return { ttl, now: now() };
}

/** The time check for `decryptAtTime(token, ttl, currentTime)`: a TTL is required there. */
export function atTimeCheck(ttl: number, currentTime: number): TimeCheck {
  if (ttl === undefined || ttl === null) throw new InvalidArgument('decryptAtTime() requires a ttl');
  checkSeconds(currentTime, 'currentTime');
  return ttlCheck(ttl, () => currentTime) as TimeCheck;
}
