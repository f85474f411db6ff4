// Types for the parts of install.mjs that test-infra/vitest/private-openbao.ts uses.
export function venvBin(name: string, command: string): string;
export function ensureVenv(
  service: string,
  name: string,
  options: { requirements: string; pipArgs?: string[] },
): Promise<string>;
