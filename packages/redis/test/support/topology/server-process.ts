import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisServerBinary } from './binaries.js';

/** Directives every private server gets: loopback only, nothing written to disk but what a mode needs. */
const BASE = ['bind 127.0.0.1', 'protected-mode no', 'save ""', 'appendonly no', 'loglevel notice'];

/**
 * One redis-server (or sentinel) of a test's own, from a config file in a
 * temp dir of its own (a sentinel and a cluster node rewrite theirs). The
 * log is kept in memory so a test can wait for a line and a failure can
 * show what the server said (it never sees a secret: the tests use none).
 */
export class ServerProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'kstest-topo-'));
  #child: ChildProcess | undefined;
  #log = '';

  constructor(
    readonly label: string,
    readonly port: number,
    readonly directives: readonly string[],
    readonly sentinel = false,
  ) {}

  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts it and waits for `readyLine` in its log (at most 10 s). */
  async start(readyLine = this.sentinel ? /Sentinel ID is/ : /Ready to accept connections/): Promise<void> {
    const config = join(this.dir, this.sentinel ? 'sentinel.conf' : 'redis.conf');
    writeFileSync(config, `${[...BASE, `dir ${this.dir}`, ...this.directives].join('\n')}\n`);
    const args = this.sentinel ? [config, '--sentinel'] : [config];
    const child = spawn(redisServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const append = (chunk: Buffer) => {
      this.#log += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    await this.waitForLog(readyLine, 10_000);
  }

  /** Until a line matching `pattern` is in the log; throws with the log's tail otherwise. */
  async waitForLog(pattern: RegExp, ms: number): Promise<void> {
    const started = performance.now();
    while (!pattern.test(this.#log)) {
      if (!this.running) throw new Error(`${this.label} exited:\n${this.#log.slice(-2_000)}`);
      if (performance.now() - started > ms) {
        throw new Error(`${this.label}: no ${pattern} within ${ms} ms:\n${this.#log.slice(-2_000)}`);
      }
      await sleep(20);
    }
  }

  /** SIGKILL: a crash, not a shutdown (no failover handshake, no goodbye to clients). */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
