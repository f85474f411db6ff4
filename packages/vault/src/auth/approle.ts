import { type Lease, type Login, leaseFrom, loginRefused } from './session.js';

/** AppRole login (`auth/<mount>/login` with the role id and secret id). */
export interface AppRoleAuth {
  readonly method: 'approle';
  readonly roleId: string;
  readonly secretId: string;
  /** Where AppRole is enabled; default `approle`. */
  readonly mount?: string;
}

export const DEFAULT_APPROLE_MOUNT = 'approle';

export function appRoleLogin(auth: AppRoleAuth): Login {
  const mount = auth.mount ?? DEFAULT_APPROLE_MOUNT;
  return async (client): Promise<Lease> => {
    try {
      const body = await client.request('POST', `auth/${mount}/login`, {
        role_id: auth.roleId,
        secret_id: auth.secretId,
      });
      return leaseFrom(body, 'the AppRole login');
    } catch (error) {
      throw loginRefused(error, 'AppRole');
    }
  };
}
