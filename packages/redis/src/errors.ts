import { ProviderUnavailable } from '@keystore/core/provider';

/** Why a Redis command did not give an answer. */
export type RedisFailure = 'not-connected' | 'timeout' | 'error' | 'closed';

/**
 * A Redis command that gave no answer: the cache cannot be used for this
 * call (the caller goes to the provider, or fails when `onRedisError` is
 * `fail-closed`). Code `ProviderUnavailable`.
 *
 * Never built from ioredis's text or error: a reply error carries the
 * command's arguments (`err.command.args`: key names and encrypted values),
 * so only the command name, our reason and, for a server error, the error's
 * first word (`WRONGTYPE`, `NOAUTH`, ...) reach the message, and no `cause`.
 */
export class RedisUnavailable extends ProviderUnavailable {
  readonly failure: RedisFailure;

  constructor(command: string, failure: RedisFailure, detail: string) {
    super(`redis ${command}: ${detail}`);
    this.failure = failure;
  }
}

const ERROR_WORD = /^[A-Z][A-Z_-]{1,31}$/;

/** The error word of a Redis error reply (`WRONGTYPE`, `NOAUTH`), else undefined. */
export function redisErrorWord(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const word = message.split(' ', 1)[0] ?? '';
  return ERROR_WORD.test(word) ? word : undefined;
}
