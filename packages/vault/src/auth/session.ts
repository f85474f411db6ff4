import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import {
  AccessDenied,
  Closed,
  KeyNotFound,
  ProviderError,
  ProviderUnavailable,
} from '@keystore/core/provider';
import { z } from 'zod';
import { createVaultClient, type VaultClient } from '../client.js';
import type { RetryPolicy } from '../http/retry.js';
import type { Transport } from '../http/transport.js';
import { withinCallTime } from './within-call-time.js';

/**
 * The token the provider sends, its lease, and keeping it alive.
 *
 * Renewal runs on an unref'd timer at 2/3 of the lease, and is also checked
 * lazily before each request. The timer keeps a token alive while the
 * process is idle (a static renewable token that expired cannot be brought
 * back; a logged-in one would need a login after every idle spell) without
 * keeping the process alive; the lazy check covers a timer that fires late
 * (a blocked event loop, a suspended VM), so no request goes out with a
 * token we know is past its renewal point. Either way one refresh runs at a
 * time and every caller waits for the same one (no login storm).
 *
 * A shared refresh runs in the context the session was made in, bounded by
 * requestTimeoutMs, never under the deadline of the call that happened to
 * start it: a caller with little time left would otherwise fail the login
 * for every caller waiting on it. Each caller waits for it only as long as
 * its own deadline allows (within-call-time.ts).
 *
 * A refresh renews the token (`auth/token/renew-self`) while it is
 * renewable and its lease is not cut by the max TTL; otherwise, or when
 * renewal is refused, it logs in afresh (AppRole, Kubernetes). A static
 * token that cannot be renewed is used as it is until Vault refuses it.
 * A token we logged in for and replaced by a new login is revoked (best
 * effort, in the background): it would otherwise stay valid, unused, until
 * its TTL ends.
 */

/** A token and what Vault said of its lease. */
export interface Lease {
  readonly token: string;
  /** Seconds; 0 means it does not expire. */
  readonly ttlSeconds: number;
  readonly renewable: boolean;
}

/** Logs in with an unauthenticated client (one that sends no token). */
export type Login = (client: VaultClient) => Promise<Lease>;

export interface AuthSessionOptions {
  readonly endpoint: string;
  readonly namespace?: string;
  readonly requestTimeoutMs?: number;
  /** The provider's transport (TLS, connections), shared so logins and renewals go out the same way. */
  readonly transport?: Transport;
  /** Retries of what Vault certainly did not process (sealed, standby, refused). */
  readonly retry?: RetryPolicy;
  /** A token given by the user (method `token`); never revoked by us. */
  readonly staticToken?: string;
  /** How to get a new token (methods `approle`, `kubernetes`). */
  readonly login?: Login;
}

export interface AuthSession {
  /** The token for the next request, refreshed first when it is due. */
  token(): Promise<string>;
  /** Changes whenever the token is replaced by a login. */
  readonly generation: number;
  /**
   * Runs `send` with the token pinned: `token()` inside it answers that
   * token, so the request goes out with exactly the token of the generation
   * `send` is given (a login landing in between cannot swap it). A replaced
   * token is revoked only once the requests sent with it are done.
   */
  withToken<T>(send: (generation: number) => Promise<T>): Promise<T>;
  /**
   * After a 403 on a request sent in `generation`: true when a retry may
   * help (the token was replaced meanwhile, or it was found invalid and a
   * fresh login replaced it); false for a plain permission denied.
   */
  recover(generation: number): Promise<boolean>;
  /** Stops the timer; revokes the token when we logged in for it. */
  close(): Promise<void>;
}

/** How long a failed refresh waits before the next attempt, at most. */
const REFRESH_RETRY_MS = 5_000;
/** The wait after a failed login, doubled after each further failure, up to the maximum. */
const LOGIN_BACKOFF_MS = 1_000;
const LOGIN_BACKOFF_MAX_MS = 30_000;
/** Revoking on close is best effort and must not hold close up for long. */
const REVOKE_TIMEOUT_MS = 5_000;
/** setTimeout's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const authAnswer = z.object({
  auth: z.object({
    client_token: z.string().min(1),
    lease_duration: z.number().int().nonnegative(),
    renewable: z.boolean(),
  }),
});
const lookupAnswer = z.object({
  data: z.object({
    ttl: z.number().int().nonnegative(),
    creation_ttl: z.number().int().nonnegative().optional(),
    renewable: z.boolean().optional(),
  }),
});

/** The lease in a login or renewal answer; nothing of the body reaches the message. */
export function leaseFrom(body: unknown, what: string): Lease {
  const parsed = authAnswer.safeParse(body);
  if (!parsed.success) throw new ProviderError(`vault: unexpected answer to ${what}`);
  const { client_token, lease_duration, renewable } = parsed.data.auth;
  return { token: client_token, ttlSeconds: lease_duration, renewable };
}

/**
 * A login's refusal as AccessDenied: Vault answers a wrong credential with
 * 400 (`invalid role or secret ID`) or 403, and a missing mount with 404 or
 * 400; none of them is a key problem. Unavailability and the rest pass.
 */
export function loginRefused(error: unknown, what: string): unknown {
  if (
    error instanceof AccessDenied ||
    error instanceof KeyNotFound ||
    (error instanceof ProviderError && / HTTP 400$/.test(error.message))
  ) {
    return new AccessDenied(`vault: the ${what} login was refused (wrong credentials, role or mount)`);
  }
  return error;
}

interface Current {
  readonly token: string;
  readonly generation: number;
  /** We logged in for it, so we may revoke it. */
  readonly owned: boolean;
  renewable: boolean;
  /** The TTL it was issued with (ms): a renewal granting less has met the max TTL. */
  readonly nominalMs: number;
  /** performance.now() ms (monotonic: a wall-clock step does not move it); Infinity when it does not expire. */
  expiresAt: number;
  refreshAt: number;
  /** Renewal no longer gives the full TTL: the next refresh logs in. */
  capped: boolean;
  /** Requests under way with it (withToken). */
  inflight: number;
  /** Replaced: revoke it when the last request with it is done. */
  retiring: boolean;
}

/** The token pinned for the request under way, and the session it is of. */
const pinned = new AsyncLocalStorage<{ readonly session: object; readonly token: string }>();

export function createAuthSession(options: AuthSessionOptions): AuthSession {
  const { login, staticToken } = options;
  if ((login === undefined) === (staticToken === undefined)) {
    throw new ProviderError('vault: an auth session needs either a token or a login');
  }
  const clientFor = (token: string | undefined, requestTimeoutMs = options.requestTimeoutMs) =>
    createVaultClient({
      endpoint: options.endpoint,
      token: () => token,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });

  let current: Current | undefined;
  let generation = 0;
  let refreshing: Promise<void> | undefined;
  let recovering: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /**
   * The context the session was made in (no guarded call), where every
   * shared refresh runs. The timer is scheduled from inside calls, and a
   * timer callback inherits the call's AsyncLocalStorage state: its deadline
   * would be long past when the timer fires, so every background renewal
   * would fail before being sent. A refresh started by a request would
   * likewise run under that request's deadline, and fail for all who share it.
   */
  const background = new AsyncResource('keystore-vault-renewal');

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (closed || current === undefined || !Number.isFinite(current.refreshAt)) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, current.refreshAt - performance.now()));
    // A failure here is seen, and thrown, by the next request that needs the token.
    timer = setTimeout(() => void refresh().catch(() => {}), delay);
    timer.unref();
  }

  function leaseTimes(ttlSeconds: number, at: number) {
    if (ttlSeconds === 0) return { expiresAt: Infinity, refreshAt: Infinity };
    return { expiresAt: at + ttlSeconds * 1000, refreshAt: at + (ttlSeconds * 1000 * 2) / 3 };
  }

  /** Revocations of replaced tokens under way; close() waits for them. */
  const revocations = new Set<Promise<void>>();

  /** Replaced tokens waiting for their requests to finish before they are revoked. */
  const retiring = new Set<Current>();

  function retireWhenIdle(state: Current): void {
    if (state.inflight > 0) {
      state.retiring = true;
      retiring.add(state);
    } else {
      retiring.delete(state);
      retire(state.token);
    }
  }

  function retire(token: string): void {
    const revoking = background.runInAsyncScope(() => revoke(token));
    revocations.add(revoking);
    void revoking.finally(() => revocations.delete(revoking));
  }

  function adopt(lease: Lease, owned: boolean, at: number, nominalSeconds = lease.ttlSeconds): void {
    const replaced = current;
    if (replaced?.owned && replaced.token !== lease.token) retireWhenIdle(replaced);
    generation += 1;
    current = {
      token: lease.token,
      generation,
      owned,
      renewable: lease.renewable && lease.ttlSeconds > 0,
      nominalMs: nominalSeconds * 1000,
      capped: false,
      inflight: 0,
      retiring: false,
      ...leaseTimes(lease.ttlSeconds, at),
    };
  }

  /**
   * Failed logins back off (LOGIN_BACKOFF_MS, doubling to LOGIN_BACKOFF_MAX_MS): a wrong or
   * revoked secret id must not become a login per request from every process. Within the
   * backoff, the last login's error is thrown again without asking Vault.
   */
  let loginFailures = 0;
  let loginBlockedUntil = 0;
  let loginError: unknown;

  async function doLogin(): Promise<void> {
    if (performance.now() < loginBlockedUntil) throw loginError;
    const at = performance.now();
    let lease: Lease;
    try {
      lease = await (login as Login)(clientFor(undefined));
    } catch (error) {
      loginFailures++;
      loginError = error;
      loginBlockedUntil =
        performance.now() + Math.min(LOGIN_BACKOFF_MAX_MS, LOGIN_BACKOFF_MS * 2 ** (loginFailures - 1));
      throw error;
    }
    loginFailures = 0;
    loginBlockedUntil = 0;
    loginError = undefined;
    if (closed) {
      // close() ran while we were logging in: this token is nobody's.
      await revoke(lease.token);
      throw new Closed('vault: the provider was closed');
    }
    adopt(lease, true, at);
  }

  /** A static token's lease, from `lookup-self`; when it cannot be looked up, it is used as is. */
  async function adoptStatic(token: string): Promise<void> {
    const at = performance.now();
    try {
      const body = await clientFor(token).request('GET', 'auth/token/lookup-self');
      const parsed = lookupAnswer.safeParse(body);
      if (!parsed.success) throw new ProviderError('vault: unexpected answer to a token lookup');
      const { ttl, creation_ttl, renewable } = parsed.data.data;
      adopt({ token, ttlSeconds: ttl, renewable: renewable ?? false }, false, at, creation_ttl ?? ttl);
    } catch (error) {
      if (error instanceof ProviderUnavailable) throw error;
      // No lookup-self in its policy, or an invalid token: Vault will say which on use.
      adopt({ token, ttlSeconds: 0, renewable: false }, false, at);
    }
  }

  async function renew(state: Current): Promise<void> {
    const at = performance.now();
    const lease = leaseFrom(
      await clientFor(state.token).request('POST', 'auth/token/renew-self', {}),
      'a token renewal',
    );
    if (current !== state) return;
    if (lease.ttlSeconds === 0) {
      // Nothing left before the max TTL (a token that never expires is not renewed at all).
      Object.assign(state, { expiresAt: at, refreshAt: at, capped: true });
      return;
    }
    Object.assign(state, leaseTimes(lease.ttlSeconds, at));
    state.renewable = lease.renewable;
    // Vault grants less than the token's TTL once the max TTL is near: renewing on would only
    // shrink the lease to nothing, so the next refresh logs in (or, for a static token, stops).
    if (lease.ttlSeconds * 1000 < state.nominalMs) state.capped = true;
  }

  async function refreshOnce(): Promise<void> {
    const state = current;
    if (state === undefined) {
      await (staticToken === undefined ? doLogin() : adoptStatic(staticToken));
      return;
    }
    if (state.renewable && !state.capped) {
      try {
        await renew(state);
        return;
      } catch (error) {
        if (login === undefined) {
          if (error instanceof ProviderUnavailable) throw error;
          state.renewable = false; // refused: use it as it is
          state.refreshAt = Infinity;
          return;
        }
        // Refused or failed: a fresh login below.
      }
    }
    if (login !== undefined) {
      await doLogin();
      return;
    }
    state.refreshAt = Infinity;
  }

  function refresh(): Promise<void> {
    if (closed) return Promise.reject(new Closed('vault: the provider was closed'));
    refreshing ??= background.runInAsyncScope(() =>
      refreshOnce()
        .catch((error: unknown) => {
          // Try again soon, but not on every request while Vault is failing.
          const state = current;
          if (state !== undefined) {
            const left = state.expiresAt - performance.now();
            state.refreshAt = performance.now() + Math.max(100, Math.min(REFRESH_RETRY_MS, left / 3));
          }
          throw error;
        })
        .finally(() => {
          refreshing = undefined;
          schedule();
        }),
    );
    return refreshing;
  }

  async function revoke(token: string): Promise<void> {
    try {
      await clientFor(token, REVOKE_TIMEOUT_MS).request('POST', 'auth/token/revoke-self', {});
    } catch {
      // Best effort: the token still expires at the end of its TTL.
    }
  }

  /** Whether Vault still knows the token: `lookup-self` is in the default policy. */
  async function stillValid(token: string): Promise<boolean> {
    try {
      await clientFor(token).request('GET', 'auth/token/lookup-self');
      return true;
    } catch (error) {
      if (error instanceof AccessDenied) return false;
      throw error;
    }
  }

  /** The state whose token the next request uses, refreshed first when it is due. */
  async function due(): Promise<Current> {
    if (closed) throw new Closed('vault: the provider was closed');
    const state = current;
    if (state !== undefined && performance.now() < state.refreshAt) return state;
    try {
      await withinCallTime(refresh(), 'a login or token renewal');
    } catch (error) {
      // An early refresh that failed does not fail a request its token can still make.
      const now = current;
      if (now === undefined || performance.now() >= now.expiresAt) throw error;
    }
    if (current === undefined) throw new Closed('vault: the provider was closed');
    return current;
  }

  const self = {};
  return {
    get generation() {
      return generation;
    },

    async token() {
      const pin = pinned.getStore();
      if (pin?.session === self && !closed) return pin.token;
      return (await due()).token;
    },

    async withToken(send) {
      const state = await due();
      state.inflight++;
      try {
        return await pinned.run({ session: self, token: state.token }, () => send(state.generation));
      } finally {
        state.inflight--;
        if (state.retiring && state.inflight === 0) retireWhenIdle(state);
      }
    },

    async recover(sent) {
      if (closed || login === undefined) return false;
      const state = current;
      if (state === undefined || state.generation !== sent) return true;
      recovering ??= background.runInAsyncScope(async () => {
        try {
          // OpenBao answers an expired or revoked token with the same `permission denied`
          // as a valid token without the capability: ask Vault which it is.
          if (performance.now() < state.expiresAt && (await stillValid(state.token))) return false;
          if (current === state) {
            refreshing ??= doLogin().finally(() => {
              refreshing = undefined;
              schedule();
            });
            await refreshing;
          }
          return true;
        } finally {
          recovering = undefined;
        }
      });
      return withinCallTime(recovering, 'a login');
    },

    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await refreshing?.catch(() => {});
      const state = current;
      current = undefined;
      if (state?.owned) await revoke(state.token);
      for (const replaced of retiring) {
        replaced.retiring = false;
        retire(replaced.token);
      }
      retiring.clear();
      await Promise.all(revocations);
    },
  };
}
