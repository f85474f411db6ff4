import { InvalidArgument } from '@keystore/core/provider';
import { type AppRoleAuth, appRoleLogin } from './approle.js';
import { type KubernetesAuth, kubernetesLogin } from './kubernetes.js';
import { type AuthSession, type AuthSessionOptions, createAuthSession } from './session.js';
import type { TokenAuth } from './token.js';

export type { AppRoleAuth } from './approle.js';
export { DEFAULT_APPROLE_MOUNT } from './approle.js';
export { authenticatedClient } from './authenticated-client.js';
export type { KubernetesAuth } from './kubernetes.js';
export {
  DEFAULT_KUBERNETES_JWT_FILE,
  DEFAULT_KUBERNETES_MOUNT,
  jwtFromFile,
} from './kubernetes.js';
export type { AuthSession } from './session.js';
export type { TokenAuth } from './token.js';

/** How the provider authenticates: the resolved values, not references. */
export type VaultAuth = TokenAuth | AppRoleAuth | KubernetesAuth;

/** An auth mount path: segments of safe characters, no `.` or `..` segment. */
const MOUNT = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

function nonEmpty(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '')
    throw new InvalidArgument(`vault: ${what} must not be empty`);
}

export function createSessionFor(
  auth: VaultAuth,
  base: Omit<AuthSessionOptions, 'login' | 'staticToken'>,
): AuthSession {
  if (auth === null || typeof auth !== 'object') throw new InvalidArgument('vault: auth is required');
  if ('mount' in auth && auth.mount !== undefined && !MOUNT.test(auth.mount)) {
    throw new InvalidArgument('vault: auth mount must be a path of letters, digits and . _ -');
  }
  switch (auth.method) {
    case 'token':
      nonEmpty(auth.token, 'auth.token');
      return createAuthSession({ ...base, staticToken: auth.token });
    case 'approle':
      nonEmpty(auth.roleId, 'auth.roleId');
      nonEmpty(auth.secretId, 'auth.secretId');
      return createAuthSession({ ...base, login: appRoleLogin(auth) });
    case 'kubernetes':
      nonEmpty(auth.role, 'auth.role');
      if (typeof auth.jwt !== 'function') throw new InvalidArgument('vault: auth.jwt must be a function');
      return createAuthSession({ ...base, login: kubernetesLogin(auth) });
    default:
      throw new InvalidArgument("vault: auth.method must be 'token', 'approle' or 'kubernetes'");
  }
}
