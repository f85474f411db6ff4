import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A loopback port nobody listens on (free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The redis-server test-infra installs (Debian's package): REDIS_SERVER_BIN, else the one on PATH. */
function redisServerBinary(): string {
  return process.env.REDIS_SERVER_BIN ?? execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim();
}

/**
 * A redis-server of the test's own, for what must not happen to the shared
 * one (stopping it): no password, no persistence, loopback only.
 */
export class PrivateRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      redisServerBinary(),
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk;
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOP / SIGCONT: a Redis that holds its connections open and answers nothing (a hung server). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Stops it at once (SIGKILL: as a crash, not a clean shutdown). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    child.kill('SIGCONT');
    await exited;
  }
}
