import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { decodeBase64Url } from '../../../encoding/base64url.js';
import { type KeystoreDocument, MAC_LENGTH, macInput } from './document.js';

/**
 * The file's MAC: HMAC-SHA256 under the file's MAC key over the canonical
 * JSON of everything but the `mac` field (file-format.ts `macInput`). Any
 * edit, truncation, removed key or version, or swapped material breaks it.
 */
export function computeMac(key: KeyObject, doc: Omit<KeystoreDocument, 'mac'>): string {
  return createHmac('sha256', key).update(macInput(doc)).digest('base64url');
}

export function verifyMac(key: KeyObject, doc: KeystoreDocument): boolean {
  const stored = decodeBase64Url(doc.mac);
  if (stored === undefined || stored.length !== MAC_LENGTH) return false;
  const expected = createHmac('sha256', key).update(macInput(doc)).digest();
  return timingSafeEqual(stored, expected);
}
