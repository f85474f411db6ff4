// Types for test-runs.mjs (its test uses them).
export function joinTestRun(): void;
export function stopWhenTestsEnd(names: string[]): string[];
export function leaveTestRun(): string[];
export function claimForUser(names: string[]): void;
