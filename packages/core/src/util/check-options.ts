import { InvalidArgument } from '../errors/keystore-error.js';

/**
 * Checks options objects the way configuration is checked: a misspelt name
 * (`contxt`) or a value of the wrong type must fail loudly, not be dropped
 * and leave the call doing something else (encrypting without a context,
 * or under the default key). One hand-written loop over the given keys, no
 * schema library: encrypt and decrypt are hot paths.
 *
 * Messages name the method and the option and describe a bad value by its
 * type only: a value passed in the wrong place may be a secret.
 */

/** One option's check: `expected` completes "must be ...". */
export interface OptionCheck {
  readonly expected: string;
  readonly test: (value: unknown) => boolean;
}

/** The options a method takes, by name, in the order messages list them. */
export type OptionSpec = Readonly<Record<string, OptionCheck>>;

/** A plain object: `{}` or `Object.create(null)`, also from another realm; not a class instance, Map or array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** A value's kind for messages, never the value itself. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  const type = typeof value;
  if (type === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
      ?.name;
    if (isPlainObject(value) || typeof name !== 'string' || name === '') return 'an object';
    return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
  }
  return `a ${type}`;
}

export const isString: OptionCheck = { expected: 'a string', test: (v) => typeof v === 'string' };
export const isFunction: OptionCheck = { expected: 'a function', test: (v) => typeof v === 'function' };
export const isObject: OptionCheck = {
  expected: 'an object',
  test: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
};
/** Anything: the option is checked where it is used (keys by the key parser, which throws InvalidKey). */
export const isAny: OptionCheck = { expected: 'anything', test: () => true };
/** An encryption context; its entries are checked by `normalizeContext`. `null` means none. */
export const isContext: OptionCheck = {
  expected: 'a plain object of string keys and string values',
  test: (v) => v === null || isPlainObject(v),
};
export const isData: OptionCheck = {
  expected: 'a string or a Uint8Array',
  test: (v) => typeof v === 'string' || v instanceof Uint8Array,
};

export function oneOf(values: readonly unknown[]): OptionCheck {
  return {
    expected: `one of ${values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}`,
    test: (v) => values.includes(v),
  };
}

/** Names longer than this are cut in messages. */
const NAME_LIMIT = 64;

/**
 * Checks `options` against `spec`: absent (`undefined`), or a plain object
 * whose every own key is a known option with a value of the right type; an
 * option set to `undefined` counts as absent.
 * @param where the method, as messages name it (`encrypt`, `Fernet.decrypt`)
 * @throws InvalidArgument naming the method and the option
 */
export function checkOptions(where: string, options: unknown, spec: OptionSpec): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new InvalidArgument(
      `${where}: options must be a plain object (known: ${Object.keys(spec).join(', ')}), got ${kindOf(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    const check = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (check === undefined) {
      const shown = name.length > NAME_LIMIT ? `${name.slice(0, NAME_LIMIT)}...` : name;
      throw new InvalidArgument(
        `${where}: unknown option '${shown}' (known: ${Object.keys(spec).join(', ')})`,
      );
    }
    const value = options[name];
    if (value !== undefined && !check.test(value)) {
      throw new InvalidArgument(`${where}: option '${name}' must be ${check.expected}, got ${kindOf(value)}`);
    }
  }
}

/** Checks one positional argument. @throws InvalidArgument `<where>: <name> must be <expected>, got <kind>` */
export function checkArgument(where: string, name: string, value: unknown, check: OptionCheck): void {
  if (!check.test(value)) {
    throw new InvalidArgument(`${where}: ${name} must be ${check.expected}, got ${kindOf(value)}`);
  }
}
