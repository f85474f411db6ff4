import { AccessDenied } from '@keystore/core/provider';
import type { VaultClient } from '../client.js';
import type { AuthSession } from './session.js';

/**
 * A client whose requests that Vault answers 403 get at most one fresh login
 * and one retry, and only when the token is why (session.recover decides):
 * a plain permission denied on a valid token is AccessDenied at once.
 */
export function authenticatedClient(client: VaultClient, session: AuthSession): VaultClient {
  return {
    async request(method, path, body, options) {
      // The token is pinned for the request, so the generation is the one it goes out with.
      let sent = 0;
      try {
        return await session.withToken((generation) => {
          sent = generation;
          return client.request(method, path, body, options);
        });
      } catch (error) {
        if (!(error instanceof AccessDenied)) throw error;
        let retry: boolean;
        try {
          retry = await session.recover(sent);
        } catch {
          throw error; // could not find out (Vault unreachable): the 403 stands
        }
        if (!retry) throw error;
        return session.withToken(() => client.request(method, path, body, options));
      }
    },
    close: () => client.close(),
  };
}
