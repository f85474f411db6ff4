/**
 * How `gpg -r <name>` picks a key, as Blackbox runs it for each line of blackbox-admins.txt
 * (`gpg --encrypt -r admin1 -r admin2 ...`), measured on GnuPG 2.2.40 (see the tests) and as
 * gpg's manual ("How to specify a user ID") describes:
 * - hex, optionally `0x` and a trailing `!`: an 8- or 16-digit key id or a 40-digit fingerprint,
 *   of the primary key or a subkey;
 * - `<addr>`: the mail address of a user id, case-insensitive, the first matching key in keyring order;
 * - `=text`: a whole user id, exactly;
 * - `@text`: part of a user id's mail address, case-insensitive;
 * - `*text` or anything else: part of a user id, case-insensitive, the first key in keyring order;
 * - a bare mail address (`local@domain.tld`, what blackbox_addadmin is given): its mail address
 *   exactly, case-insensitive, and of several keys gpg takes the newest (gpg 2.2 ranks them and
 *   picks the most recent valid one): `bob@example.com` does not match `jimbob@example.com`.
 */
export type UserIdQuery =
  | { readonly kind: 'key-id'; readonly hex: string }
  | { readonly kind: 'fingerprint'; readonly hex: string }
  | { readonly kind: 'mail'; readonly mail: string; readonly pick: 'first' | 'newest' }
  | { readonly kind: 'mail-part'; readonly text: string }
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'substring'; readonly text: string };

const HEX_ID = /^(?:0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})!?$/;
/** What gpg's is_valid_mailbox accepts, roughly: no spaces or brackets, one @, a dot in the domain. */
const MAILBOX = /^[^\s<>@]+@[^\s<>@]+\.[^\s<>@.][^\s<>@]*$/;

export function classifyUserId(name: string): UserIdQuery {
  const hex = HEX_ID.exec(name);
  if (hex?.[1]) {
    const digits = hex[1].toUpperCase();
    return digits.length === 40 ? { kind: 'fingerprint', hex: digits } : { kind: 'key-id', hex: digits };
  }
  if (name.startsWith('<')) {
    const end = name.indexOf('>');
    return {
      kind: 'mail',
      mail: (end < 0 ? name.slice(1) : name.slice(1, end)).toLowerCase(),
      pick: 'first',
    };
  }
  if (name.startsWith('=')) return { kind: 'exact', text: name.slice(1) };
  if (name.startsWith('@')) return { kind: 'mail-part', text: name.slice(1).toLowerCase() };
  if (name.startsWith('*')) return { kind: 'substring', text: name.slice(1).toLowerCase() };
  if (MAILBOX.test(name)) return { kind: 'mail', mail: name.toLowerCase(), pick: 'newest' };
  return { kind: 'substring', text: name.toLowerCase() };
}

/** The mail address gpg sees in a user id: inside its last `<...>`, else the whole id if it is one. */
export function mailOf(userId: string): string | undefined {
  const open = userId.lastIndexOf('<');
  const close = userId.lastIndexOf('>');
  if (open >= 0 && close > open) return userId.slice(open + 1, close).toLowerCase();
  return MAILBOX.test(userId) ? userId.toLowerCase() : undefined;
}

/** Whether one of a key's user ids (or its key ids / fingerprints) answers the query. */
export function queryMatches(
  query: UserIdQuery,
  key: {
    readonly userIds: readonly string[];
    readonly keyIds: readonly string[];
    readonly fingerprints: readonly string[];
  },
): boolean {
  switch (query.kind) {
    case 'key-id':
      return key.keyIds.some((id) => id.endsWith(query.hex));
    case 'fingerprint':
      return key.fingerprints.includes(query.hex);
    case 'mail':
      return key.userIds.some((uid) => mailOf(uid) === query.mail);
    case 'mail-part':
      return key.userIds.some((uid) => mailOf(uid)?.includes(query.text) ?? false);
    case 'exact':
      return key.userIds.includes(query.text);
    case 'substring':
      return key.userIds.some((uid) => uid.toLowerCase().includes(query.text));
  }
}
