import { ALL_CAPABILITIES, type ProviderCapabilities } from '@keystore/core';
import type { ConformanceFixture, ConformanceTest, Requirement } from './types.js';

/** What a fixture offers, as far as test requirements go. */
export interface FixtureProfile {
  readonly type: string;
  readonly capabilities: ProviderCapabilities;
  readonly existingKeys: number;
  readonly unreachable: boolean;
  readonly unreachableCache: boolean;
}

export function profileOf(fixture: ConformanceFixture): FixtureProfile {
  const declared: Partial<ProviderCapabilities> = fixture.provider?.capabilities ?? {};
  const capabilities = Object.fromEntries(
    ALL_CAPABILITIES.map((c) => [c, declared[c] === true]),
  ) as unknown as ProviderCapabilities;
  return {
    type: String(fixture.provider?.type),
    capabilities,
    existingKeys: fixture.existingKeys?.length ?? 0,
    unreachable: typeof fixture.unreachable === 'function',
    unreachableCache: typeof fixture.unreachableCache === 'function',
  };
}

function met(requirement: Requirement, profile: FixtureProfile): boolean {
  switch (requirement) {
    case 'keystore':
      return true;
    case 'key':
      return profile.capabilities.createKey || profile.existingKeys > 0;
    case 'unreachable':
      return profile.unreachable;
    case 'unreachableCache':
      return profile.unreachableCache;
    default:
      return profile.capabilities[requirement];
  }
}

/** The requirements of `test` that `profile` does not meet. */
export function missingRequirements(test: ConformanceTest, profile: FixtureProfile): Requirement[] {
  return test.requires.filter((r) => !met(r, profile));
}

/** Why a test with these missing requirements is skipped, in words. */
export function skipReason(missing: readonly Requirement[]): string {
  if (missing.includes('unreachable')) {
    return 'not applicable (embedded provider): the fixture has no unreachable backend';
  }
  if (missing.includes('unreachableCache')) {
    return 'not applicable: no cache in front of the provider (fixture.unreachableCache)';
  }
  return `requires ${missing.map((r) => (r === 'key' ? 'a key (createKey or fixture.existingKeys)' : r)).join(', ')}`;
}
