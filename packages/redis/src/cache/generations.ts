/**
 * Per-key generations in Redis: a counter `g:{tag}` that every invalidation
 * counts up (INCR), and that every entry records (inside its sealed value)
 * as the generation it was loaded under. A reader fetches entry and counter
 * in one MGET and takes the entry only when the two agree; a writer stores
 * only while the counter still reads what its lookup read. So an
 * invalidation in one process makes every other process's copy in Redis
 * unreadable at once, whichever process wrote it and whatever this
 * process's L1 knows of it, and a value loaded before the change and SET
 * after it (a process whose pub/sub is down) is refused.
 *
 * Lua scripts rather than WATCH/MULTI: WATCH belongs to a connection, and
 * the cache shares one connection among all concurrent calls (another
 * call's EXEC would end this one's WATCH); a script is atomic and one round
 * trip inside the caller's deadline.
 *
 * The counter's expiry. It lives `2 x ttlSeconds` from its last INCR and
 * from every conditional SET under it (never shortened); a SET while it is
 * absent creates it at 0, with the writer's expiry. So while any entry can
 * still be in Redis (at most its writer's `ttlSeconds` after its SET), the
 * counter exists and reads its generation or more: it never goes back to 0
 * while such an entry lives, and cannot count up to it again to revive it.
 * (Creating it at 0 matters when processes sharing a namespace differ in
 * `ttlSeconds`, which the namespace does not hold: an INCR by one of short
 * TTL gave an absent counter only its own expiry, and an entry of a longer
 * TTL written under 0 became current again once the counter expired.) An
 * expired counter therefore only ever makes entries misses, never stale hits.
 *
 * Anyone who can write to Redis can set the counter: that makes entries
 * misses (or replays a value within its own `ttlSeconds`, which writing an
 * old token back could do anyway); it never opens a value or forges one.
 */

/**
 * SET the entry only while the counter reads the generation given (absent
 * reads 0, and is then created at 0); keep the counter at least as long as
 * the entry. 1: stored, 0: refused.
 *
 * KEYS: entry, counter. ARGV: token, entry ttl (s), generation, counter ttl (s).
 */
export const SET_IF_GENERATION = `
local g = redis.call('GET', KEYS[2])
if (g or '0') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if not g then redis.call('SET', KEYS[2], '0', 'EX', ARGV[4])
elseif redis.call('TTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return 1
`;

/**
 * INCR the counter, give it (at least) its expiry, and DEL the entries
 * named (those unreadable now anyway: freed early). The new generation.
 *
 * KEYS: counter, then entries. ARGV: counter ttl (s).
 */
export const NEXT_GENERATION = `
local g = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return g
`;

/** How much longer than an entry's TTL a counter lives (see above). */
export const GENERATION_TTL_FACTOR = 2;

const DIGITS = /^(0|[1-9][0-9]{0,14})$/;

/** A counter's value as read: absent is 0; anything not a counter (set by hand) is undefined. */
export function parseGeneration(text: string | undefined): number | undefined {
  if (text === undefined) return 0;
  return DIGITS.test(text) ? Number(text) : undefined;
}
