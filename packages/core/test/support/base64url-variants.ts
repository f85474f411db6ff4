/**
 * Test support (not exported by the package): the other spellings of one
 * base64url text, each of which a lenient decoder (Node's, or Python's
 * `urlsafe_b64decode`) reads as the same bytes or nearly so. A strict reader
 * accepts the canonical text and none of these.
 */
export interface Variant {
  readonly kind: string;
  readonly text: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Every variant of `text` (canonical base64url; `padded` says whether its
 * canonical form has `=` padding), distinct and none equal to `text`.
 */
export function base64UrlVariants(text: string, padded: boolean): Variant[] {
  const out = new Map<string, string>();
  const add = (kind: string, variant: string) => {
    if (variant !== text && !out.has(variant)) out.set(variant, kind);
  };
  const data = text.replace(/=+$/, '');
  const padding = text.slice(data.length);

  // The standard alphabet's characters for the URL-safe ones, one occurrence at a time and all at once.
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '-') add(`'+' for '-' at ${i}`, `${text.slice(0, i)}+${text.slice(i + 1)}`);
    if (text[i] === '_') add(`'/' for '_' at ${i}`, `${text.slice(0, i)}/${text.slice(i + 1)}`);
  }
  add('standard alphabet throughout', text.replaceAll('-', '+').replaceAll('_', '/'));

  // Stray low bits in the last character: its value's unused bits set, every way.
  const strayBits = [0, 4, 2][data.length & 3] ?? 0;
  const last = ALPHABET.indexOf(data.at(-1) ?? '');
  for (let bits = 1; bits < 1 << strayBits; bits++) {
    add(`stray bits ${bits} in the last character`, `${data.slice(0, -1)}${ALPHABET[last | bits]}${padding}`);
  }

  // Padding missing, short, long, or where there should be none.
  const needed = '='.repeat((4 - (data.length & 3)) & 3);
  add('padding stripped', data);
  if (padded) {
    add('one padding character short', `${data}${needed.slice(1)}`);
    add('one padding character too many', `${text}=`);
    add('padding doubled', `${text}${padding}`);
  } else {
    add('padding added', `${data}${needed}`);
  }
  add('a whole block of padding', `${text}====`);
  add('padding inside', `${data.slice(0, 4)}=${data.slice(4)}${padding}`);

  // Whitespace and characters a lenient decoder skips.
  for (const [name, ws] of [
    ['newline', '\n'],
    ['CRLF', '\r\n'],
    ['space', ' '],
    ['tab', '\t'],
  ] as const) {
    add(`trailing ${name}`, `${text}${ws}`);
    add(`leading ${name}`, `${ws}${text}`);
    add(`${name} after 4 characters`, `${text.slice(0, 4)}${ws}${text.slice(4)}`);
  }
  add('line breaks every 76 characters (MIME)', text.replace(/.{76}(?=.)/g, '$&\n'));
  add('a dot inside', `${text.slice(0, 4)}.${text.slice(4)}`);
  add('a Latin-1 letter inside', `${text.slice(0, 4)}é${text.slice(4)}`);
  add('a NUL at the end', `${text}\0`);
  // A character above U+00FF whose low byte is the character it replaces (Node's decoder truncates it).
  const first = text.charCodeAt(0);
  add('a wide character for the first', `${String.fromCharCode(0x100 | first)}${text.slice(1)}`);
  add('a lone surrogate inside', `${text.slice(0, 4)}\uD800${text.slice(4)}`);

  return [...out].map(([variant, kind]) => ({ kind, text: variant }));
}
