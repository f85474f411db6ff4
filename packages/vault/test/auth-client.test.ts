import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { authenticatedClient } from '../src/auth/authenticated-client.js';
import { createAuthSession, type Lease } from '../src/auth/session.js';
import type { VaultClient } from '../src/client.js';

describe('authenticatedClient', () => {
  it('a request goes out with the token whose generation it records, even when a new login lands in between', async () => {
    let logins = 0;
    // Logins that never reach a server: tokens t1, t2, ... of 1 s (refreshed after 2/3 s).
    const login = async (): Promise<Lease> => ({ token: `t${++logins}`, ttlSeconds: 1, renewable: false });
    const session = createAuthSession({
      endpoint: 'http://127.0.0.1:9', // only revoke-self of a replaced token goes there, and fails quietly
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0, minAttemptMs: 0 },
      login,
    });
    const sent: string[] = [];
    // The inner client asks the session for the token as the real one does, after a pause in
    // which the token comes due and a new login replaces it.
    const inner: VaultClient = {
      async request() {
        await sleep(750);
        sent.push(await session.token());
        return {};
      },
      close() {},
    };
    const client = authenticatedClient(inner, session);
    expect(await session.token()).toBe('t1');
    await client.request('GET', 'transit/keys/x');
    expect(sent).toEqual(['t1']); // not t2: generation 1 was recorded for this request
    await session.close();
  });
});
