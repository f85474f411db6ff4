import {
  ALL_CAPABILITIES,
  capabilityMethods,
  DEFAULT_VERSIONING,
  isValidProviderType,
  isVersioning,
  SPECIFICATION_VERSION,
} from '@keystore/core';
import { check, checkEqual } from '../assert.js';
import { defineTest } from './helpers.js';

export const contractTests = [
  defineTest({
    name: 'declares specification v1, its type and every capability',
    group: 'contract',
    requires: [],
    description:
      'specificationVersion is the one the core speaks, type is a lower-case name, every capability is declared true or false, each declared operation is implemented, and versioning is numbered, in-place or not declared (numbered).',
    async run(ctx) {
      const provider = ctx.fixture.provider;
      checkEqual(provider.specificationVersion, SPECIFICATION_VERSION, 'provider.specificationVersion');
      check(
        isValidProviderType(provider.type),
        `provider.type must be lower-case letters, digits and dashes, got ${JSON.stringify(provider.type)}`,
      );
      checkEqual(ctx.provider.type, provider.type, 'the guarded provider type');
      check(
        typeof provider.capabilities === 'object' && provider.capabilities !== null,
        'provider.capabilities must be an object',
      );
      const undeclared = ALL_CAPABILITIES.filter((c) => typeof provider.capabilities[c] !== 'boolean');
      check(
        undeclared.length === 0,
        `provider.capabilities must declare every capability true or false; not declared: ${undeclared.join(', ')}`,
      );
      for (const method of ['wrapKey', 'unwrapKey', 'close'] as const) {
        check(typeof provider[method] === 'function', `provider.${method} must be a function`);
      }
      const missing = ALL_CAPABILITIES.filter(
        (c) =>
          provider.capabilities[c] && capabilityMethods(c).some((m) => typeof provider[m] !== 'function'),
      );
      check(missing.length === 0, `declared but not implemented: ${missing.join(', ')}`);
      check(
        provider.versioning === undefined || isVersioning(provider.versioning),
        `provider.versioning must be 'numbered' or 'in-place' when declared, got ${JSON.stringify(provider.versioning)}`,
      );
      checkEqual(
        ctx.versioning,
        provider.versioning ?? DEFAULT_VERSIONING,
        'the guarded provider versioning',
      );
    },
  }),
];
