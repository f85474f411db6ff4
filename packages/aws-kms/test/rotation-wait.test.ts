import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { guardProvider } from '@keystore/core/provider';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsKmsProvider } from '../src/index.js';

/*
 * AWS finishes an on-demand rotation asynchronously, LocalStack at once, so
 * the wait for it is tested against a stand-in that speaks KMS's JSON
 * protocol for the three requests rotateKey makes.
 */
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

interface StandIn {
  readonly endpoint: string;
  readonly calls: string[];
  close(): void;
}

async function standIn(
  answer: (target: string, calls: readonly string[]) => [number, unknown],
): Promise<StandIn> {
  const calls: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      calls.push(target);
      const [status, body] = answer(target, calls);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, calls, close: () => server.close() };
}

const describeKey = {
  KeyMetadata: {
    KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    Arn: ARN,
    KeyState: 'Enabled',
    Enabled: true,
    CreationDate: 1_700_000_000,
  },
};
const inProgress = { KeyId: ARN, KeyRotationEnabled: false, OnDemandRotationStartDate: 1_700_000_100 };
const done = { KeyId: ARN, KeyRotationEnabled: false };

const provider = (endpoint: string) =>
  createAwsKmsProvider({
    region: 'us-east-1',
    endpoint,
    keys: { patients: 'alias/patients' },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

let server: StandIn | undefined;
afterEach(() => server?.close());

describe('rotateKey waits for an asynchronous rotation', () => {
  it('polls GetKeyRotationStatus until the rotation is no longer in progress', async () => {
    server = await standIn((target, calls) => {
      if (target === 'DescribeKey') return [200, describeKey];
      if (target === 'RotateKeyOnDemand') return [200, { KeyId: ARN }];
      const polls = calls.filter((c) => c === 'GetKeyRotationStatus').length;
      return [200, polls <= 3 ? inProgress : done];
    });
    const p = guardProvider(await provider(server.endpoint));
    expect(await p.rotateKey('patients')).toMatchObject({ keyId: 'patients', latestVersion: 1 });
    expect(server.calls).toEqual([
      'DescribeKey',
      'RotateKeyOnDemand',
      'GetKeyRotationStatus',
      'GetKeyRotationStatus',
      'GetKeyRotationStatus',
      'GetKeyRotationStatus',
    ]);
    await p.close();
  });

  it("answers within the call's deadline when the rotation is still in progress (it was accepted)", async () => {
    server = await standIn((target) => {
      if (target === 'DescribeKey') return [200, describeKey];
      if (target === 'RotateKeyOnDemand') return [200, { KeyId: ARN }];
      return [200, inProgress];
    });
    const p = guardProvider(await provider(server.endpoint), { timeoutMs: 1_500 });
    const started = performance.now();
    expect(await p.rotateKey('patients')).toMatchObject({ latestVersion: 1 });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(server.calls.filter((c) => c === 'GetKeyRotationStatus').length).toBeGreaterThan(2);
    await p.close();
  });

  it('a rotation KMS refuses as conflicting is Conflict; a failed status poll does not fail the rotation', async () => {
    let conflict = true;
    server = await standIn((target) => {
      if (target === 'DescribeKey') return [200, describeKey];
      if (target === 'RotateKeyOnDemand') {
        return conflict
          ? [400, { __type: 'ConflictException', message: `automatic rotation of ${ARN}` }]
          : [200, { KeyId: ARN }];
      }
      return [400, { __type: 'AccessDeniedException', message: 'no kms:GetKeyRotationStatus' }];
    });
    const p = guardProvider(await provider(server.endpoint));
    const error = await p.rotateKey('patients').catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'Conflict' });
    expect(String((error as Error).message)).not.toContain(ARN);
    conflict = false;
    expect(await p.rotateKey('patients')).toMatchObject({ latestVersion: 1 });
    await p.close();
  });
});

describe('a rotation is sent once, whatever maxAttempts', () => {
  it("RotateKeyOnDemand answered HTTP 500 is not retried by the SDK (KMS may have done it: a retry spends another of the key's rotations)", async () => {
    server = await standIn((target) => {
      if (target === 'DescribeKey') return [200, describeKey];
      if (target === 'RotateKeyOnDemand') return [500, { __type: 'KMSInternalException', message: ARN }];
      return [200, done];
    });
    const p = await createAwsKmsProvider({
      region: 'us-east-1',
      endpoint: server.endpoint,
      keys: { patients: 'alias/patients' },
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 3,
    });
    await expect(p.rotateKey('patients')).rejects.toMatchObject({ code: 'ProviderUnavailable' });
    await expect(p.rotateKeyOnDemand('patients')).rejects.toMatchObject({ code: 'ProviderUnavailable' });
    expect(server.calls.filter((c) => c === 'RotateKeyOnDemand')).toHaveLength(2);
    await p.close();
  });
});
