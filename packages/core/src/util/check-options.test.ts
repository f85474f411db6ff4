import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { checkOptions, isString, kindOf } from './check-options.js';

const SPEC = { key: isString };

function message(options: unknown): string | undefined {
  try {
    checkOptions('m', options, SPEC);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

describe('checkOptions', () => {
  it('takes absent options, plain objects, null-prototype objects and objects from another realm', () => {
    expect(message(undefined)).toBeUndefined();
    expect(message({ key: 'a' })).toBeUndefined();
    expect(message(Object.assign(Object.create(null), { key: 'a' }))).toBeUndefined();
    expect(message(runInNewContext("({ key: 'a' })"))).toBeUndefined();
  });

  it('refuses class instances, Maps and arrays, naming their kind only', () => {
    class Options {
      key = 'secret-value';
    }
    expect(message(new Options())).toBe('m: options must be a plain object (known: key), got an Options');
    expect(message(new Map())).toMatch(/got a Map$/);
    expect(message(['secret-value'])).toMatch(/got an array$/);
    expect(message(new Options())).not.toContain('secret-value');
  });

  it('cuts a very long unknown name, and never shows a bad value', () => {
    expect(message({ ['x'.repeat(500)]: 1 })).toBe(`m: unknown option '${'x'.repeat(64)}...' (known: key)`);
    expect(message({ key: 1234567 })).toBe("m: option 'key' must be a string, got a number");
  });

  it('describes kinds', () => {
    expect([null, undefined, 1, 'a', true, () => 1, new Uint8Array(1), {}].map(kindOf)).toEqual([
      'null',
      'undefined',
      'a number',
      'a string',
      'a boolean',
      'a function',
      'a Uint8Array',
      'an object',
    ]);
  });
});
