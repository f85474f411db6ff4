import { bytesEqual } from './bytes.js';

/**
 * Small assertions of our own, so the suite runs without vitest (the CLI runs
 * it against a real deployment). They throw `ConformanceFailure` with a
 * message that says which step of the contract was broken.
 */
export class ConformanceFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformanceFailure';
  }
}

/** Thrown by `ctx.skip`: the test does not apply to this provider. */
export class ConformanceSkip extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConformanceSkip';
  }
}

export function fail(message: string, cause?: unknown): never {
  throw new ConformanceFailure(message, cause === undefined ? undefined : { cause });
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Compares bytes without printing them (they may be key material). */
export function checkBytes(actual: unknown, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) fail(`${what}: expected a Uint8Array, got ${typeName(actual)}`);
  if (actual.length !== expected.length) {
    fail(`${what}: expected ${expected.length} bytes, got ${actual.length}`);
  }
  if (!bytesEqual(actual, expected)) fail(`${what}: the bytes differ`);
}

/** Short, secret-free description of an error: its name, code and the start of its message. */
export function describeError(error: unknown): string {
  if (error instanceof ConformanceFailure) return `${error.name}: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message.length > 200 ? `${error.message.slice(0, 200)}...` : error.message;
    return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${message}`;
  }
  return `a thrown ${typeName(error)}`;
}

/** The stable code of an error, if it has one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Awaits a step that must succeed; a failure names the step. */
export async function step<T>(what: string, run: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof run === 'function' ? run() : run);
  } catch (error) {
    if (error instanceof ConformanceFailure || error instanceof ConformanceSkip) throw error;
    return fail(`${what} failed: ${describeError(error)}`, error);
  }
}

/**
 * Awaits a step that must fail with one of `codes` (an `Error` with that
 * `.code`); returns the error.
 */
export async function rejects(
  what: string,
  run: Promise<unknown> | (() => Promise<unknown>),
  codes: string | readonly string[],
): Promise<Error> {
  const expected = typeof codes === 'string' ? [codes] : codes;
  const wanted = expected.join(' or ');
  let outcome: unknown;
  try {
    outcome = await (typeof run === 'function' ? run() : run);
  } catch (error) {
    if (error instanceof ConformanceFailure || error instanceof ConformanceSkip) throw error;
    if (!(error instanceof Error))
      fail(`${what}: expected an Error with code ${wanted}, got ${typeName(error)}`);
    const code = codeOf(error);
    if (code === undefined || !expected.includes(code)) {
      fail(`${what}: expected code ${wanted}, got ${describeError(error)}`, error);
    }
    return error;
  }
  return fail(`${what}: expected it to fail with ${wanted}, but it succeeded (${typeName(outcome)})`);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
