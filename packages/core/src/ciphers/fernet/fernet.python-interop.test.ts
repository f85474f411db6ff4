import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { base64UrlVariants } from '../../../test/support/base64url-variants.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import { Fernet } from './fernet.js';
import { MultiFernet } from './multi-fernet.js';

/**
 * Interoperability with Python's `cryptography.fernet`, both ways. CI installs
 * python3 with cryptography (.ci/run); elsewhere the suite skips, saying why.
 */
function python(script: string, input: object): unknown {
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const probe = spawnSync('python3', ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available && process.env.CI !== 'true') {
  console.warn('SKIP Fernet/Python interop: python3 with the cryptography package is not installed');
}

const PY_DECRYPT = `
import json, sys
from cryptography.fernet import Fernet, InvalidToken
req = json.load(sys.stdin)
f = Fernet(req["key"])
out = []
for t in req["tokens"]:
    try:
        if req.get("ttl") is None:
            out.append(f.decrypt(t.encode()).hex())
        else:
            out.append(f.decrypt_at_time(t.encode(), req["ttl"], req["now"]).hex())
    except InvalidToken:
        out.append(None)
print(json.dumps(out))
`;

const PY_ENCRYPT = `
import json, sys
from cryptography.fernet import Fernet, MultiFernet
req = json.load(sys.stdin)
f = Fernet(req["key"])
print(json.dumps({
  "key": Fernet.generate_key().decode(),
  "tokens": [f.encrypt_at_time(bytes.fromhex(p), req["at"]).decode() for p in req["payloads"]],
}))
`;

// Tokens as a Python caller passes them, str; a refusal is any exception (a non-ASCII str raises ValueError).
const PY_VERDICTS = `
import json, sys
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
f = Fernet(req["key"])
out = []
for t in req["tokens"]:
    try:
        out.append(f.decrypt(t).hex())
    except Exception:
        out.append(None)
print(json.dumps(out))
`;

describe.runIf(available || process.env.CI === 'true')("interop with Python's cryptography.fernet", () => {
  const key = Fernet.generateKey();
  const f = new Fernet(key);
  const payloads = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(16, 1), Buffer.alloc(100_000, 0xab)];

  it('Python decrypts our tokens', () => {
    const tokens = payloads.map((p) => f.encrypt(p));
    const out = python(PY_DECRYPT, { key, tokens }) as string[];
    expect(out).toEqual(payloads.map((p) => p.toString('hex')));
  });

  it('we decrypt Python tokens, and Python keys work here', () => {
    const at = 1_700_000_000;
    const res = python(PY_ENCRYPT, { key, at, payloads: payloads.map((p) => p.toString('hex')) }) as {
      key: string;
      tokens: string[];
    };
    res.tokens.forEach((token, i) => {
      expect(Buffer.from(f.decryptAtTime(token, 60, at + 60))).toEqual(payloads[i]);
      expect(f.extractTimestamp(token)).toBe(at);
    });
    const pyKey = new Fernet(res.key);
    expect(new TextDecoder().decode(pyKey.decrypt(pyKey.encrypt('k')))).toBe('k');
  });

  it('agrees with Python on the TTL and clock-skew edges', () => {
    const at = 1_700_000_000;
    const token = f.encryptAtTime('edge', at);
    for (const [ttl, now] of [
      [60, at + 60],
      [60, at + 61],
      [10, at - 60],
      [10, at - 61],
      [0, at],
      [-1, at],
    ] as const) {
      const [py] = python(PY_DECRYPT, { key, tokens: [token], ttl, now }) as (string | null)[];
      let ours: string | null;
      try {
        ours = Buffer.from(f.decryptAtTime(token, ttl, now)).toString('hex');
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidToken);
        ours = null;
      }
      expect({ ttl, now: now - at, ours }).toEqual({ ttl, now: now - at, ours: py });
    }
  });

  it('MultiFernet.rotate output is readable by Python under the new key, timestamp kept', () => {
    const old = new Fernet(Fernet.generateKey());
    const at = 1_600_000_000;
    const token = old.encryptAtTime('rotate me', at);
    const rotated = new MultiFernet([f, old]).rotate(token);
    const [py] = python(PY_DECRYPT, { key, tokens: [rotated] }) as string[];
    expect(Buffer.from(py as string, 'hex').toString()).toBe('rotate me');
    expect(f.extractTimestamp(rotated)).toBe(at);
  });

  it('refuses every token Python refuses, and every other non-canonical spelling too', () => {
    const refusedByPython: string[] = [];
    // Two, one and no `=` of padding.
    for (const size of [0, 16, 32]) {
      let token = '';
      while (!(token.includes('-') && token.includes('_'))) token = f.encrypt(Buffer.alloc(size, 0x62));
      const variants = base64UrlVariants(token, true);
      const py = python(PY_VERDICTS, { key, tokens: [token, ...variants.map((v) => v.text)] }) as (
        | string
        | null
      )[];
      expect(py[0]).toBe(Buffer.alloc(size, 0x62).toString('hex'));
      variants.forEach((v, i) => {
        let ours: string | null;
        try {
          ours = Buffer.from(f.decrypt(v.text)).toString('hex');
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidToken);
          ours = null;
        }
        // Python is the floor (where it refuses, so do we); canonical-only is the rule.
        if (py[i + 1] === null) refusedByPython.push(v.kind);
        expect({ kind: v.kind, ours }).toEqual({ kind: v.kind, ours: null });
      });
    }
    // Python's own strictness: it refuses unpadded tokens.
    expect(refusedByPython).toContain('padding stripped');
  });
});
