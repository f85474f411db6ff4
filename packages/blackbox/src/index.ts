export { type KeyboxEntry, readKeybox } from './keybox/index.js';
