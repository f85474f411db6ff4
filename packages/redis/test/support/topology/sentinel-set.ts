import { Redis } from 'ioredis';
import { freePort } from '../private-redis.js';
import { ServerProcess } from './server-process.js';

export const MASTER_NAME = 'kstest';
/** The sentinel calls the master down after this long unanswered... */
export const DOWN_AFTER_MS = 1_000;
/** ...and gives a failover this long before it tries another. */
export const FAILOVER_TIMEOUT_MS = 3_000;

/**
 * One master, one replica of it, and sentinels watching them (quorum 1 with
 * one sentinel, 2 with three), all private, on loopback. Start waits until
 * every sentinel knows the replica, so a failover has somewhere to go.
 */
export class SentinelSet {
  master!: ServerProcess;
  replica!: ServerProcess;
  sentinels: ServerProcess[] = [];

  async start(sentinelCount = 1): Promise<void> {
    const [m, r] = [await freePort(), await freePort()];
    this.master = new ServerProcess(`master ${m}`, m, [`port ${m}`]);
    this.replica = new ServerProcess(`replica ${r}`, r, [`port ${r}`, `replicaof 127.0.0.1 ${m}`]);
    await this.master.start();
    await this.replica.start();
    await this.replica.waitForLog(/MASTER <-> REPLICA sync: Finished with success/, 10_000);
    const quorum = Math.floor(sentinelCount / 2) + 1;
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      this.sentinels.push(
        new ServerProcess(
          `sentinel ${port}`,
          port,
          [
            `port ${port}`,
            `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${m} ${quorum}`,
            `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
            `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          ],
          true,
        ),
      );
    }
    await Promise.all(this.sentinels.map((s) => s.start()));
    await Promise.all(this.sentinels.map((s) => s.waitForLog(/\+slave slave 127\.0\.0\.1:/, 15_000)));
  }

  get nodes() {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The master's port as the first sentinel reports it now. */
  async masterPort(): Promise<number> {
    const client = new Redis(this.sentinels[0]?.port ?? 0, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    try {
      await client.connect();
      const [, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as string[];
      return Number(port);
    } finally {
      client.disconnect();
    }
  }

  /** The master or replica process on `port`. */
  serverOn(port: number): ServerProcess {
    const server = [this.master, this.replica].find((s) => s.port === port);
    if (server === undefined) throw new Error(`no server on ${port}`);
    return server;
  }

  /** The other of master and replica. */
  other(server: ServerProcess): ServerProcess {
    return server === this.master ? this.replica : this.master;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].filter(Boolean).map((s) => s.dispose()));
  }
}
