// Types for the parts of paths.mjs that test-infra/vitest/private-openbao.ts uses.
export const REQUIREMENTS_DIR: string;
