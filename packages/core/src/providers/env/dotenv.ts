import { ConfigError } from '../../errors/keystore-error.js';

/**
 * A small, strict `.env` parser: `NAME=value` lines, optional `export `,
 * `#` comments, single quotes (literal) and double quotes (with \n, \r, \t,
 * \" and \\ escapes). A malformed line is reported by its number, never by
 * its content (it may hold a key); so is a variable defined twice.
 */
export function parseDotenv(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lineOf = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (match === null) throw new ConfigError(`${source}: line ${index + 1} is not NAME=value`);
    const name = match[1] as string;
    // Last-one-wins would let a stale key hide below the one a reader sees.
    const first = lineOf.get(name);
    if (first !== undefined)
      throw new ConfigError(`${source}: ${name} is defined twice, on lines ${first} and ${index + 1}`);
    lineOf.set(name, index + 1);
    out[name] = parseValue(match[2] as string, source, index + 1);
  });
  return out;
}

function closingQuote(value: string, quote: string): number {
  for (let i = 1; i < value.length; i++) {
    if (quote === '"' && value[i] === '\\') i++;
    else if (value[i] === quote) return i;
  }
  return -1;
}

function parseValue(value: string, source: string, line: number): string {
  const quote = value[0];
  if (quote === "'" || quote === '"') {
    const end = closingQuote(value, quote);
    if (end < 0) throw new ConfigError(`${source}: line ${line} has an unterminated quote`);
    const rest = value.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#'))
      throw new ConfigError(`${source}: line ${line} has text after the quote`);
    const inner = value.slice(1, end);
    if (quote === "'") return inner;
    return inner.replace(/\\([nrt"\\])/g, (_, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
    );
  }
  const comment = value.search(/\s#/);
  return (comment >= 0 ? value.slice(0, comment) : value).trim();
}
