// Types for test-session.mjs, which test-infra/vitest/global-setup.ts uses.
export type Outcome = 'already-up' | 'started' | 'restarted' | 'failed';

export function beginTestSession(
  names: string[],
  options?: { heartbeatSeconds?: number },
): Promise<{
  started: string[];
  outcomes: Record<string, Outcome>;
  failures: { service: string; message: string }[];
}>;

export function endTestSession(): Promise<{ stopped: string[]; left: string[] }>;
