// The services test-infra runs, by name, and whether a recorded run of one is still up.
import { isRunning } from '../proc.mjs';
import gnupg from './gnupg.mjs';
import kms from './kms.mjs';
import openbao from './openbao.mjs';
import redis from './redis.mjs';

export const SERVICES = [redis, openbao, kms, gnupg];

const BY_NAME = Object.fromEntries(SERVICES.map((s) => [s.name, s]));
const ALIASES = { openbao: 'vault', bao: 'vault', localstack: 'kms', moto: 'kms', gnupg: 'gpg' };

/** The service called `name` (or one of its aliases: openbao, bao, localstack, moto, gnupg), or undefined. */
export function serviceByName(name) {
  return BY_NAME[ALIASES[name] ?? name];
}

/** True when `state` (from .run/<service>/state.json) belongs to a run that is still there. */
export function isUp(service, state) {
  if (!state) return false;
  return service.isUp ? service.isUp(state) : isRunning(state);
}
