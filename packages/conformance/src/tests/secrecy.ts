import { inspect } from 'node:util';
import type { EncryptionContext } from '@keystore/core';
import { fail, step } from '../assert.js';
import { flipBit, randomBytes, randomHex, secretForms, utf8 } from '../bytes.js';
import type { ConformanceContext } from '../types.js';
import { CONTEXT, defineTest, replaceChar, unwrapInput } from './helpers.js';

const WRONG_CONTEXT: EncryptionContext = { ...CONTEXT, tenant: 'someone-else' };

interface Secret {
  readonly label: string;
  readonly forms: readonly string[];
}

function bytesSecret(label: string, bytes: Uint8Array): Secret {
  return { label, forms: secretForms(bytes) };
}

function textSecret(label: string, text: string): Secret {
  return { label, forms: [text, ...secretForms(utf8(text))] };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

/** Every way a thrown value is commonly turned into text: message, String(), JSON, stack, util.inspect (with causes). */
function renderings(thrown: unknown): Record<string, string> {
  const out: Record<string, string> = {
    'String(error)': String(thrown),
    'JSON.stringify(error)': safeJson(thrown),
    'util.inspect(error)': inspect(thrown, { depth: 6 }),
  };
  if (thrown instanceof Error) {
    out['error.message'] = thrown.message;
    out['error.stack'] = thrown.stack ?? '';
  }
  return out;
}

/** Runs each step, which must fail, and checks that no error shows a secret. */
async function checkFailures(
  steps: ReadonlyArray<readonly [string, () => Promise<unknown>]>,
  secrets: readonly Secret[],
): Promise<void> {
  const leaks: string[] = [];
  for (const [label, run] of steps) {
    let thrown: unknown;
    let threw = false;
    try {
      await run();
    } catch (error) {
      thrown = error;
      threw = true;
    }
    if (!threw) fail(`${label} was expected to fail, but it succeeded`);
    const texts = Object.entries(renderings(thrown));
    for (const secret of secrets) {
      const where = texts
        .filter(([, text]) => secret.forms.some((form) => text.includes(form)))
        .map(([rendering]) => rendering);
      if (where.length > 0) leaks.push(`${label}: ${secret.label} shows in ${where.join(', ')}`);
    }
  }
  if (leaks.length > 0) fail(`errors must not contain secrets; found ${leaks.length}: ${leaks.join('; ')}`);
}

/** A key with known material when the provider can import keys, else any key. */
async function keyWithKnownMaterial(ctx: ConformanceContext, secrets: Secret[]): Promise<string> {
  if (!ctx.capabilities.importKey) return ctx.key();
  const material = randomBytes(32);
  secrets.push(bytesSecret('the key material', material));
  return ctx.importKey('secret', new Uint8Array(material));
}

export const secrecyTests = [
  defineTest({
    name: 'provider errors never contain key material or data keys',
    group: 'secrecy',
    requires: ['key'],
    description:
      'Failed unwraps (wrong context, tampered, truncated, unknown version, another or unknown key) and wraps under an unknown key throw errors whose message, String(), JSON, stack and util.inspect show neither the data key nor the master key material (imported, when the provider can import) in hex, base64 or base64url.',
    async run(ctx) {
      const secrets: Secret[] = [];
      const keyId = await keyWithKnownMaterial(ctx, secrets);
      const dek = randomBytes(32);
      secrets.push(bytesSecret('the data key', dek));
      const p = ctx.provider;
      const wrapped = await step(
        'wrapKey',
        p.wrapKey({ keyId, plaintext: new Uint8Array(dek), context: CONTEXT }),
      );
      const ct = wrapped.ciphertext;
      const steps: [string, () => Promise<unknown>][] = [
        ['unwrapKey with a wrong context', () => p.unwrapKey(unwrapInput(wrapped, WRONG_CONTEXT))],
        [
          'unwrapKey of a tampered wrap',
          () =>
            p.unwrapKey(
              unwrapInput(wrapped, CONTEXT, { ciphertext: flipBit(ct, Math.floor(ct.length / 2)) }),
            ),
        ],
        [
          'unwrapKey of a truncated wrap',
          () => p.unwrapKey(unwrapInput(wrapped, CONTEXT, { ciphertext: ct.subarray(0, ct.length - 1) })),
        ],
        [
          'unwrapKey of an unknown version',
          () => p.unwrapKey(unwrapInput(wrapped, CONTEXT, { version: wrapped.version + 1000 })),
        ],
        [
          'unwrapKey under an unknown key',
          () => p.unwrapKey(unwrapInput(wrapped, CONTEXT, { keyId: ctx.unusedKeyId('missing') })),
        ],
        [
          'wrapKey under an unknown key',
          () =>
            p.wrapKey({
              keyId: ctx.unusedKeyId('missing'),
              plaintext: new Uint8Array(dek),
              context: CONTEXT,
            }),
        ],
        ['rewrapKey with a wrong context', () => p.rewrapKey(unwrapInput(wrapped, WRONG_CONTEXT))],
      ];
      if (ctx.capabilities.createKey || (ctx.fixture.existingKeys?.length ?? 0) > 1) {
        const other = ctx.capabilities.createKey ? await ctx.createKey('secret-other') : await ctx.key(1);
        steps.push([
          'unwrapKey under another key',
          () => p.unwrapKey(unwrapInput(wrapped, CONTEXT, { keyId: other })),
        ]);
      }
      if (ctx.capabilities.getKey) {
        steps.push(['getKey of an unknown version', () => p.getKey(keyId, wrapped.version + 1000)]);
      }
      await checkFailures(steps, secrets);
    },
  }),

  defineTest({
    name: 'Keystore errors never contain plaintext or key material',
    group: 'secrecy',
    requires: ['keystore', 'key'],
    description:
      'Failed decrypts (wrong context, tampered, truncated), a failed reencrypt and an encrypt under an unknown key throw errors that show neither a sentinel plaintext nor the key material, in any encoding.',
    async run(ctx) {
      const secrets: Secret[] = [];
      const key = await keyWithKnownMaterial(ctx, secrets);
      const sentinel = `conformance-sentinel-${randomHex(16)}`;
      secrets.push(textSecret('the plaintext', sentinel));
      const keystore = await ctx.keystore();
      const envelope = await step('encrypt', keystore.encrypt(sentinel, { key, context: CONTEXT }));
      const n = envelope.length;
      await checkFailures(
        [
          ['decrypt with a wrong context', () => keystore.decrypt(envelope, { context: WRONG_CONTEXT })],
          ['decrypt with no context', () => keystore.decrypt(envelope)],
          [
            'decrypt of a tampered envelope',
            () => keystore.decrypt(replaceChar(envelope, Math.floor((3 * n) / 4)), { context: CONTEXT }),
          ],
          [
            'decrypt of a truncated envelope',
            () => keystore.decrypt(envelope.slice(0, n - 5), { context: CONTEXT }),
          ],
          ['reencrypt with a wrong context', () => keystore.reencrypt(envelope, { context: WRONG_CONTEXT })],
          [
            'encrypt under an unknown key',
            () => keystore.encrypt(sentinel, { key: ctx.unusedKeyId('missing'), context: CONTEXT }),
          ],
        ],
        secrets,
      );
    },
  }),
];
