// Types for the parts of ports.mjs that test-infra/vitest/private-openbao.ts uses.
export const HOST: string;
export function freePort(): Promise<number>;
export function freePortPair(): Promise<number>;
