export { type BlackboxLayout, type FindLayoutOptions, findLayout } from './layout.js';
export { readAdmins, readFiles } from './lists.js';
export { DEFAULT_KEYS_DIR, type KeyPaths, resolveKeyPaths } from './paths.js';
