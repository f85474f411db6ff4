import type { KdfOptions } from '../../src/providers/file/format/kdf.js';

/** Test-only costs: the lowest the file provider accepts. */
export const FAST_SCRYPT: KdfOptions = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 };
export const FAST_PBKDF2: KdfOptions = { name: 'pbkdf2-sha256', iterations: 1_000 };
