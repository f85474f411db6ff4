import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../private-redis.js';
import { redisCliBinary } from './binaries.js';
import { ServerProcess } from './server-process.js';
import { until } from './until.js';

/**
 * Three cluster-enabled masters on loopback, no replicas, the 16384 slots
 * split between them by `redis-cli --cluster create`. Each node keeps its
 * nodes.conf in its own temp dir.
 */
export class ClusterSet {
  nodes: ServerProcess[] = [];

  async start(count = 3): Promise<void> {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      this.nodes.push(
        new ServerProcess(`cluster node ${port}`, port, [
          `port ${port}`,
          'cluster-enabled yes',
          'cluster-config-file nodes.conf',
          'cluster-node-timeout 2000',
        ]),
      );
    }
    await Promise.all(this.nodes.map((n) => n.start()));
    execFileSync(
      redisCliBinary(),
      ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
    );
    await Promise.all(
      this.nodes.map((n) => until(`${n.label} cluster_state:ok`, () => this.#ok(n.port), 15_000)),
    );
  }

  async #ok(port: number): Promise<boolean> {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const info = (await client.call('CLUSTER', 'INFO')) as string;
      return /cluster_state:ok/.test(info) && /cluster_known_nodes:3/.test(info);
    } finally {
      client.disconnect();
    }
  }

  /** The start nodes of one node only: ioredis finds the others from it. */
  startNode(i: number) {
    return [{ host: '127.0.0.1', port: this.nodes[i]?.port ?? 0 }];
  }

  /** Every key under `prefix` on every node (a SCAN per node: a Cluster's keys live on their slot's master). */
  async keys(prefix: string): Promise<string[]> {
    return (await this.keysPerNode(prefix)).flat();
  }

  /** The keys under `prefix` on each node, in the order of `nodes`. */
  async keysPerNode(prefix: string): Promise<string[][]> {
    const perNode: string[][] = [];
    for (const node of this.nodes) {
      const all: string[] = [];
      perNode.push(all);
      if (!node.running) continue;
      const client = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        let cursor = '0';
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          all.push(...batch);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    }
    return perNode;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
