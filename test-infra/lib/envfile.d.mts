// Types for the parts of envfile.mjs that test-infra/vitest/services.ts uses.
export function parseEnv(text: string): Record<string, string>;
