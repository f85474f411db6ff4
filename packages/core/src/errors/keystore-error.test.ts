import { describe, expect, it } from 'vitest';
import { InvalidKey } from './invalid-key.js';
import { InvalidToken } from './invalid-token.js';
import * as errors from './keystore-error.js';

const { ERROR_CODES, ERROR_CODE_MEANINGS, isErrorCode, isKeystoreError, KeystoreError } = errors;

type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error & { code: string };

/** Every error class, by the code its instances carry. */
const classes: Record<string, ErrorClass> = Object.fromEntries(
  ([...Object.values(errors), InvalidKey, InvalidToken] as unknown[])
    .filter((c): c is ErrorClass => typeof c === 'function' && c.prototype instanceof KeystoreError)
    .map((c) => [new c('m').code, c]),
);

describe('error codes', () => {
  it('come from one table: every code has one class, every class one code of the table', () => {
    expect(Object.keys(classes).sort()).toEqual([...ERROR_CODES].sort());
    expect(ERROR_CODES).toEqual(Object.keys(ERROR_CODE_MEANINGS));
  });

  it('give every class one layout: name and code are the code, the message is kept, a cause is optional', () => {
    for (const [code, Class] of Object.entries(classes)) {
      const error = new (
        Class as new (
          message: string,
          options?: { cause?: unknown },
        ) => Error & { code: string }
      )('the message', { cause: 'why' });
      expect(error.code).toBe(code);
      expect(error.name).toBe(code);
      expect(isKeystoreError(error, code as errors.KeystoreErrorCode)).toBe(true);
      if (code !== 'InvalidToken') {
        expect(error.message).toBe('the message');
        expect(error.cause).toBe('why');
      } else {
        expect(error.cause, 'InvalidToken never carries a cause').toBeUndefined();
      }
    }
  });

  it('recognises our codes only', () => {
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
    for (const code of ['toString', '__proto__', 'invalidtoken', '', 42, undefined]) {
      expect(isErrorCode(code), String(code)).toBe(false);
    }
  });
});
