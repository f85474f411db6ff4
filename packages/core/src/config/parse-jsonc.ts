import { getNodeValue, type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { ConfigError } from '../errors/keystore-error.js';

/**
 * What went wrong, in words that never quote the text: a configuration may
 * hold an inline secret (`{ "value": "..." }`), so errors say where, not what.
 * Keyed by jsonc-parser's names for its error codes (its enum is `const`).
 */
const PROBLEMS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected symbol (names and strings need double quotes)',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a field name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'expected the end after the top-level value',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** 1-based line and column (in UTF-16 code units, as editors count) of `offset`. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function at(text: string, offset: number, source: string): string {
  const { line, column } = position(text, offset);
  return `${source}:${line}:${column}`;
}

/**
 * A field given twice is refused, as in `.env` files: JSON.parse keeps the
 * last one, so a second `"provider"` further down would silently win.
 */
function checkUniqueFields(node: Node, text: string, source: string): void {
  if (node.type === 'object') {
    const firstAt = new Map<string, number>();
    for (const property of node.children ?? []) {
      const key = property.children?.[0];
      if (key === undefined) continue;
      const name = String(key.value);
      const first = firstAt.get(name);
      if (first !== undefined) {
        throw new ConfigError(
          `${at(text, key.offset, source)}: '${name}' is given twice (first on line ${position(text, first).line})`,
        );
      }
      firstAt.set(name, key.offset);
    }
  }
  for (const child of node.children ?? []) checkUniqueFields(child, text, source);
}

/**
 * Parses configuration text: JSON with `//` and `/* *\/` comments and
 * trailing commas, as tsconfig.json and VS Code's settings take it. A syntax
 * error is a ConfigError `source:line:column: problem`.
 */
export function parseJsonc(text: string, source: string): unknown {
  // Editors on Windows may save a byte order mark; it is not part of the JSON.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const root = parseTree(body, errors, { allowTrailingComma: true, disallowComments: false });
  // The first error only: the ones after it mostly follow from it.
  const error = errors[0];
  if (error !== undefined) {
    const problem = PROBLEMS[printParseErrorCode(error.error)] ?? 'syntax error';
    throw new ConfigError(`${at(body, error.offset, source)}: ${problem}`);
  }
  if (root === undefined) throw new ConfigError(`${at(body, 0, source)}: ${PROBLEMS.ValueExpected}`);
  checkUniqueFields(root, body, source);
  return getNodeValue(root);
}
