import { AccessDenied, ProviderUnavailable } from '../../../errors/keystore-error.js';

export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A file system failure as one of our errors: the path and the errno code, nothing else. */
export function fileSystemError(what: string, path: string, error: unknown): Error {
  const code = errnoOf(error) ?? 'error';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AccessDenied(`cannot ${what} ${path} (${code})`);
  }
  return new ProviderUnavailable(`cannot ${what} ${path} (${code})`);
}
