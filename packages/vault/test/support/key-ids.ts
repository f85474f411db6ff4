/** Key ids that must never reach Vault: each would be a path, or is not a KV key id at all. */
export const ESCAPING_KEY_IDS: readonly string[] = [
  'tenant-../x',
  '../x',
  'a/b',
  '..',
  '.',
  '',
  'a%2Fb',
  'a?b',
  'a#b',
  'a b',
  'x'.repeat(129),
];
