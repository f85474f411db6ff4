import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsKmsProvider } from '../src/index.js';

/*
 * LocalStack 4.9.2 answers `InternalError`, HTTP 500, to an RSA Decrypt of a
 * ciphertext it cannot decrypt. The same answer from a KMS (or a proxy) that
 * is failing must not read as a tampered envelope. A stand-in speaking KMS's
 * JSON protocol plays both: LocalStack refusing one ciphertext, and an outage.
 */
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const context = { table: 'patients', 'keystore:alg': 'fernet' };

type Mode = 'localstack' | 'outage';

async function standIn(mode: () => Mode) {
  const calls: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      calls.push(target);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const answer = (status: number, out: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(out));
      };
      const internal = () =>
        answer(500, { __type: 'InternalError', message: 'exception while calling kms.Decrypt' });
      if (target === 'DescribeKey') {
        return answer(200, {
          KeyMetadata: {
            KeyId: ARN.slice(ARN.indexOf('/') + 1),
            Arn: ARN,
            KeyState: 'Enabled',
            Enabled: true,
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeySpec: 'RSA_2048',
          },
        });
      }
      if (target === 'GetPublicKey') {
        return answer(200, {
          KeyId: ARN,
          PublicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'RSA_2048',
          EncryptionAlgorithms: ['RSAES_OAEP_SHA_256'],
        });
      }
      if (target === 'Decrypt') {
        if (mode() === 'outage') return internal();
        try {
          const plain = privateDecrypt(
            { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
            Buffer.from(body.CiphertextBlob, 'base64'),
          );
          return answer(200, {
            KeyId: ARN,
            Plaintext: plain.toString('base64'),
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          });
        } catch {
          return internal();
        }
      }
      return answer(400, { __type: 'UnsupportedOperationException' });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, calls, close: () => server.close() };
}

let close: (() => void) | undefined;
afterEach(() => close?.());

const provider = (endpoint: string) =>
  createAwsKmsProvider({
    region: 'us-east-1',
    endpoint,
    keys: { patients: ARN },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

/** The wrapped key with one byte of its RSA ciphertext (the KEK's) flipped. */
function tamperRsa(ciphertext: Uint8Array): Uint8Array {
  const out = Uint8Array.from(ciphertext);
  const refLength = (out[2] as number) * 256 + (out[3] as number);
  const arnAt = 4 + refLength;
  const arnLength = (out[arnAt] as number) * 256 + (out[arnAt + 1] as number);
  const rsaAt = arnAt + 2 + arnLength + 2;
  out[rsaAt + 10] = (out[rsaAt + 10] as number) ^ 1;
  return out;
}

describe('aws-kms RSA Decrypt answered InternalError (HTTP 500)', () => {
  it('is InvalidToken when KMS decrypts a well-formed ciphertext of the key at that moment (LocalStack refusing this one)', async () => {
    const server = await standIn(() => 'localstack');
    close = server.close;
    const p = await provider(server.endpoint);
    const wrapped = await p.wrapKey({ keyId: 'patients', plaintext: new Uint8Array(32).fill(7), context });
    expect(await p.unwrapKey({ ...wrapped, context })).toEqual(new Uint8Array(32).fill(7));
    await expect(
      p.unwrapKey({ ...wrapped, ciphertext: tamperRsa(wrapped.ciphertext), context }),
    ).rejects.toMatchObject({ code: 'InvalidToken' });
    await p.close();
  });

  it('is ProviderUnavailable, not InvalidToken, when KMS answers InternalError to every Decrypt (an outage)', async () => {
    let mode: Mode = 'localstack';
    const server = await standIn(() => mode);
    close = server.close;
    const p = await provider(server.endpoint);
    const wrapped = await p.wrapKey({ keyId: 'patients', plaintext: new Uint8Array(32).fill(7), context });
    mode = 'outage';
    const error = await p.unwrapKey({ ...wrapped, context }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ProviderUnavailable' });
    expect(String((error as Error).message)).not.toContain('exception while calling');
    await p.close();
  });
});
