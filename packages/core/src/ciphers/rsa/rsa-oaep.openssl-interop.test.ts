import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { InvalidToken } from '../../errors/invalid-token.js';
import { RsaOaep } from './rsa-oaep.js';

/**
 * Interoperability with the OpenSSL command line, both ways: `openssl pkeyutl`
 * encrypts and we decrypt, we encrypt and it decrypts, for every hash, with
 * and without a label. CI installs openssl (.ci/run); elsewhere the suite
 * skips, saying why.
 */
const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available && process.env.CI !== 'true') {
  console.warn('SKIP RSA-OAEP/OpenSSL interop: the openssl command is not installed');
}

const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
const LABEL = 'tenant=42 ü';

/** One directory for the files the OpenSSL CLI reads and writes. */
const tmp = useTempDir('unused', 'file');
let counter = 0;

function openssl(args: string[]): void {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
}

function oaepOptions(hash: string, label: string | undefined): string[] {
  const options = ['rsa_padding_mode:oaep', `rsa_oaep_md:${hash}`, `rsa_mgf1_md:${hash}`];
  if (label !== undefined) options.push(`rsa_oaep_label:${Buffer.from(label, 'utf8').toString('hex')}`);
  return options.flatMap((option) => ['-pkeyopt', option]);
}

function file(name: string, contents?: Uint8Array | string): string {
  const path = join(tmp.dir, `${counter++}-${name}`);
  if (contents !== undefined) writeFileSync(path, contents);
  return path;
}

/** `openssl pkeyutl -encrypt` with the public key PEM. */
function opensslEncrypt(publicPem: string, message: Uint8Array, hash: string, label?: string): Uint8Array {
  const out = file('ct.bin');
  const args = ['pkeyutl', '-encrypt', '-pubin', '-inkey', file('pub.pem', publicPem)];
  openssl([...args, '-in', file('pt.bin', message), '-out', out, ...oaepOptions(hash, label)]);
  return new Uint8Array(readFileSync(out));
}

/** `openssl pkeyutl -decrypt` with the private key PEM. */
function opensslDecrypt(
  privatePem: string,
  ciphertext: Uint8Array,
  hash: string,
  label?: string,
): Uint8Array {
  const out = file('pt.bin');
  const args = ['pkeyutl', '-decrypt', '-inkey', file('priv.pem', privatePem)];
  openssl([...args, '-in', file('ct.bin', ciphertext), '-out', out, ...oaepOptions(hash, label)]);
  return new Uint8Array(readFileSync(out));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe.runIf(available || process.env.CI === 'true')('RSA-OAEP interop with the OpenSSL CLI', () => {
  const _tmp = useTempDir('unused', 'file');
  let publicPem: string;
  let privatePem: string;

  beforeAll(async () => {
    const pair = await RsaOaep.generateKeyPairAsync();
    publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  });

  describe.each(HASHES)('%s', (hash) => {
    describe.each([
      ['no label', undefined],
      ['a label', LABEL],
    ])('%s', (_name, label) => {
      it('we decrypt what OpenSSL encrypts (empty, short and maximal messages)', () => {
        const rsa = new RsaOaep({ privateKey: privatePem, hash, label });
        for (const size of [0, 1, 32, rsa.maxOaepPayload]) {
          const message = randomBytes(size);
          const ciphertext = opensslEncrypt(publicPem, message, hash, label);
          expect(ciphertext).toHaveLength(256);
          expect(hex(rsa.decrypt(ciphertext))).toBe(hex(message));
        }
      });

      it('OpenSSL decrypts what we encrypt', () => {
        const rsa = new RsaOaep({ publicKey: publicPem, hash, label });
        for (const size of [0, 1, 32, rsa.maxOaepPayload]) {
          const message = randomBytes(size);
          expect(hex(opensslDecrypt(privatePem, rsa.encrypt(message), hash, label))).toBe(hex(message));
        }
      });
    });

    it('a label mismatch fails on both sides', () => {
      const message = randomBytes(16);
      const fromOpenssl = opensslEncrypt(publicPem, message, hash, LABEL);
      expect(() => new RsaOaep({ privateKey: privatePem, hash }).decrypt(fromOpenssl)).toThrow(InvalidToken);
      const ours = new RsaOaep({ publicKey: publicPem, hash, label: 'other' }).encrypt(message);
      expect(() => opensslDecrypt(privatePem, ours, hash, LABEL)).toThrow(/openssl pkeyutl failed/);
    });
  });

  it('OpenSSL unwraps the data key of our hybrid format: the wrap is plain OAEP', () => {
    const rsa = new RsaOaep({ publicKey: publicPem, label: LABEL });
    const hybrid = rsa.encrypt(randomBytes(1000));
    const dek = opensslDecrypt(privatePem, hybrid.subarray(1, 257), 'sha256', LABEL);
    expect(dek).toHaveLength(32);
  });

  it('keys generated by OpenSSL import as PKCS#8 and PKCS#1 PEM (3072 bits)', () => {
    const key = file('openssl-key.pem');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', key]);
    const rsaPub = file('openssl-rsapub.pem');
    openssl(['rsa', '-in', key, '-RSAPublicKey_out', '-out', rsaPub]);
    const pkcs1Private = file('openssl-pkcs1.pem');
    openssl(['rsa', '-in', key, '-traditional', '-out', pkcs1Private]);
    const generatedPrivate = readFileSync(key, 'utf8');
    const pkcs1Public = readFileSync(rsaPub, 'utf8');
    expect(generatedPrivate).toContain('BEGIN PRIVATE KEY');
    expect(pkcs1Public).toContain('BEGIN RSA PUBLIC KEY');
    expect(readFileSync(pkcs1Private, 'utf8')).toContain('BEGIN RSA PRIVATE KEY');

    const sender = new RsaOaep({ publicKey: pkcs1Public });
    expect(sender.modulusLength).toBe(3072);
    const receiver = new RsaOaep({ privateKey: readFileSync(pkcs1Private, 'utf8'), publicKey: pkcs1Public });
    const message = randomBytes(sender.maxOaepPayload);
    expect(hex(receiver.decrypt(sender.encrypt(message)))).toBe(hex(message));
    const fromOpenssl = opensslEncrypt(pkcs1Public, message, 'sha256');
    expect(hex(new RsaOaep({ privateKey: generatedPrivate }).decrypt(fromOpenssl))).toBe(hex(message));
  });
});
