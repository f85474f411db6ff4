import { inspect } from 'node:util';
import { expect } from 'vitest';
import { InvalidToken } from '../../src/errors/invalid-token.js';

/**
 * Test support (not exported by the package): `fn` must throw the one
 * uniform InvalidToken (same class, same message, no cause) and, when given,
 * `forbidden` (a plaintext marker) must appear nowhere in it.
 */
export function expectInvalidToken(fn: () => unknown, forbidden?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidToken);
  const error = thrown as Error;
  expect(error.message).toBe(new InvalidToken().message);
  expect(error.cause).toBeUndefined();
  if (forbidden !== undefined)
    expect(`${error.message}${error.stack}${inspect(error)}`).not.toContain(forbidden);
}
