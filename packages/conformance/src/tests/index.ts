import type { ConformanceTest } from '../types.js';
import { availabilityTests } from './availability.js';
import { closeTests } from './close.js';
import { concurrencyTests } from './concurrency.js';
import { contractTests } from './contract.js';
import { keystoreTests } from './keystore.js';
import { lifecycleTests } from './lifecycle.js';
import { lookupTests } from './lookup.js';
import { recipientsTests } from './recipients.js';
import { rotationTests } from './rotation.js';
import { secrecyTests } from './secrecy.js';
import { wrapTests } from './wrap.js';

/** Every conformance test, in the order they run. */
export const conformanceTests: readonly ConformanceTest[] = Object.freeze([
  ...contractTests,
  ...wrapTests,
  ...lookupTests,
  ...rotationTests,
  ...lifecycleTests,
  ...keystoreTests,
  ...recipientsTests,
  ...concurrencyTests,
  ...secrecyTests,
  ...availabilityTests,
  ...closeTests,
]);
