const WINDOW = 16;
const ENCODINGS = ['hex', 'base64', 'base64url', 'latin1'] as const;

/**
 * Finds any of many secrets (at least 16 bytes each) in texts, raw or hex or
 * base64 encoded: each encoded secret is indexed by its first 16 characters
 * and every 16-character window of a text is looked up, so thousands of
 * secrets against hundreds of values take milliseconds, not minutes.
 */
export class SecretScan {
  readonly #byPrefix = new Map<string, string[]>();
  readonly size: number;

  constructor(secrets: readonly Uint8Array[]) {
    const unique = new Set(secrets.map((s) => Buffer.from(s).toString('hex')));
    this.size = unique.size;
    for (const hex of unique) {
      const secret = Buffer.from(hex, 'hex');
      if (secret.length < WINDOW) throw new RangeError('secrets must be at least 16 bytes');
      for (const encoding of ENCODINGS) {
        const text = secret.toString(encoding).replace(/=+$/, '');
        const key = text.slice(0, WINDOW);
        this.#byPrefix.set(key, [...(this.#byPrefix.get(key) ?? []), text]);
      }
    }
  }

  /** How many secrets `text` holds (a latin1 string of bytes is a text too). */
  hits(text: string): number {
    let found = 0;
    for (let i = 0; i + WINDOW <= text.length; i++) {
      for (const candidate of this.#byPrefix.get(text.slice(i, i + WINDOW)) ?? []) {
        if (text.startsWith(candidate, i)) found++;
      }
    }
    return found;
  }
}
