// Types for the parts of proc.mjs that test-infra/vitest/private-openbao.ts uses.
export function startDetached(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string; pidFile: string },
): Promise<{ pid: number; pgid: number; startTime: string | null }>;
export function stopGroup(pgid: number, options?: { graceMs?: number }): Promise<number[]>;
export function groupMembers(pgid: number): number[];
