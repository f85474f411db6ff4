import { readFile } from 'node:fs/promises';
import { ConfigError } from '@keystore/core/provider';
import { type Lease, type Login, leaseFrom, loginRefused } from './session.js';

/** Kubernetes login (`auth/<mount>/login` with the role and the service account's JWT). */
export interface KubernetesAuth {
  readonly method: 'kubernetes';
  /** The Vault role bound to this service account. */
  readonly role: string;
  /**
   * The service account token. Called at every login, because the kubelet
   * replaces projected tokens on disk before they expire.
   */
  readonly jwt: () => string | Promise<string>;
  /** Where Kubernetes auth is enabled; default `kubernetes`. */
  readonly mount?: string;
}

export const DEFAULT_KUBERNETES_MOUNT = 'kubernetes';
export const DEFAULT_KUBERNETES_JWT_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** A jwt reader for `jwtFile`: the file's contents at each login, surrounding whitespace removed. */
export function jwtFromFile(path: string, field = 'provider.auth.jwtFile'): () => Promise<string> {
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `${field}: file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const jwt = text.trim();
    if (jwt === '') throw new ConfigError(`${field}: file ${path} is empty`);
    return jwt;
  };
}

export function kubernetesLogin(auth: KubernetesAuth): Login {
  const mount = auth.mount ?? DEFAULT_KUBERNETES_MOUNT;
  return async (client): Promise<Lease> => {
    const jwt = await auth.jwt();
    try {
      const body = await client.request('POST', `auth/${mount}/login`, { role: auth.role, jwt });
      return leaseFrom(body, 'the Kubernetes login');
    } catch (error) {
      throw loginRefused(error, 'Kubernetes');
    }
  };
}
