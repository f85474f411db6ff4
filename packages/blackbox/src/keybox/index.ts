export { type KeyboxEntry, readKeybox } from './read-keybox.js';
