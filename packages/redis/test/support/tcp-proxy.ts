import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback between the cache and a redis-server, for a Redis
 * that is slow or lies: requests pass as they are; replies can be held back
 * (`delayMs`) or have their cached values corrupted (`corrupt`). Replies are
 * cut into whole RESP replies first, so a corrupted reply keeps its framing
 * (ioredis still matches every later reply to its command).
 */
export class TcpProxy {
  /** Every reply is held this long before it is passed on (0: at once); in order, also when it changes. */
  delayMs = 0;
  /** The share (0 to 1) of cached values (read replies holding a Fernet token) that get one byte changed. */
  corruptShare = 0;
  /** Values corrupted so far. */
  corrupted = 0;
  /** Top-level bulk-string replies that held a Fernet token, corrupted or not. */
  tokens = 0;

  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => this.#pipe(client));
  }

  /** `redisUrl` (the target's, with its credentials) pointed at the proxy instead. */
  urlFor(redisUrl: string): string {
    const url = new URL(redisUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.#port);
    return url.toString();
  }

  async listen(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #pipe(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    this.#sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', () => {
        this.#sockets.delete(s);
        end();
      });
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk));

    const replies = new ReplySplitter();
    const queue: { due: number; bytes: Buffer }[] = [];
    let draining = false;
    const drain = async () => {
      draining = true;
      while (queue.length > 0) {
        const head = queue[0] as (typeof queue)[number];
        const wait = head.due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        queue.shift();
        if (!client.destroyed) client.write(head.bytes);
      }
      draining = false;
    };
    upstream.on('data', (chunk: Buffer) => {
      const out = Buffer.concat(replies.push(chunk).map((reply) => this.#maybeCorrupt(reply)));
      if (out.length === 0) return;
      // FIFO: a reply never overtakes one held back before it, even when the delay was shortened since.
      queue.push({ due: performance.now() + this.delayMs, bytes: out });
      if (!draining) void drain();
    });
  }

  #maybeCorrupt(reply: Buffer): Buffer {
    // A reply holding a Fernet token: the cache's read (an MGET of entry and generation, `*2\r\n$<n>\r\ngAAAAA...`)
    // or a GET (`$<n>\r\ngAAAAA...`). Only the token's own bytes change: the framing stays as it was.
    if (reply[0] !== 0x24 && reply[0] !== 0x2a) return reply;
    const found = reply.indexOf('\r\ngAAAAA');
    if (found < 0) return reply;
    const start = found + 2;
    const end = reply.indexOf('\r\n', start);
    this.tokens++;
    if (Math.random() >= this.corruptShare) return reply;
    this.corrupted++;
    const out = Buffer.from(reply);
    const length = end - start;
    // A byte past the version and timestamp, swapped for another base64url character: still a well-formed token.
    const at = start + 12 + Math.floor(Math.random() * (length - 12));
    out[at] = out[at] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B' (or anything else -> 'A')
    return out;
  }
}

/**
 * Cuts a stream of RESP replies (RESP2, and RESP3, which ioredis 6 speaks
 * after HELLO 3) into whole replies. Bytes it cannot parse yet wait for the
 * next chunk; a type it does not know turns it into a plain pipe.
 */
class ReplySplitter {
  #buffer = Buffer.alloc(0);
  #lost = false;

  push(chunk: Buffer): Buffer[] {
    if (this.#lost) return [chunk];
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const end = replyEnd(this.#buffer, 0);
      if (end === 'unknown') {
        this.#lost = true;
        out.push(this.#buffer);
        this.#buffer = Buffer.alloc(0);
        break;
      }
      if (end === undefined) break;
      out.push(this.#buffer.subarray(0, end));
      this.#buffer = this.#buffer.subarray(end);
    }
    return out;
  }
}

const LINE = new Set('+-:_,#('.split('').map((c) => c.charCodeAt(0)));
const BLOB = new Set('$!='.split('').map((c) => c.charCodeAt(0)));
const AGGREGATE = new Map(
  [
    ['*', 1],
    ['~', 1],
    ['>', 1],
    ['%', 2],
  ].map(([c, k]) => [(c as string).charCodeAt(0), k as number]),
);

/** Where the reply starting at `at` ends; undefined when it is not all there yet. */
function replyEnd(buffer: Buffer, at: number): number | undefined | 'unknown' {
  const line = buffer.indexOf('\r\n', at);
  if (line < 0) return undefined;
  const type = buffer[at] as number;
  const n = Number(buffer.subarray(at + 1, line).toString('latin1'));
  if (LINE.has(type)) return line + 2;
  if (BLOB.has(type)) {
    if (n < 0) return line + 2;
    const end = line + 2 + n + 2;
    return end <= buffer.length ? end : undefined;
  }
  const per = AGGREGATE.get(type);
  // `|`: an attribute map, then the reply it is about.
  const count = type === 0x7c ? 2 * n + 1 : per === undefined ? undefined : Math.max(0, n) * per;
  if (count === undefined) return 'unknown';
  let next: number | undefined | 'unknown' = line + 2;
  for (let i = 0; i < count && typeof next === 'number'; i++) next = replyEnd(buffer, next);
  return next;
}
