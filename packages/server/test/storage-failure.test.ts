// A partition log whose disk fails an fsync refuses writes until it is reopened. The node must not stay on as the
// partition's leader answering KAFKA_STORAGE_ERROR for ever: it stops (controlled shutdown, then the fatal exit the
// process runs), and a restart on the repaired disk recovers the log with every acknowledged record.
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { MemoryFileSystem } from '@tributary/storage';
import { startNode, type RunningNode } from '../src/node.ts';

const nodes: RunningNode[] = [];
const clients: KafkaClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const n of nodes) await n.stop().catch(() => {});
}, 60_000);

describe('a failed partition log', () => {
  it('stops the node (fatal exit after a controlled shutdown); a restart recovers every acknowledged record', { timeout: 60_000 }, async () => {
    const fs = new MemoryFileSystem();
    const fatal: Error[] = [];
    const start = async (): Promise<RunningNode> => {
      const node = await startNode({ fs, logger: silentLogger, onFatal: (err) => fatal.push(err as Error), overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': '/data' } });
      nodes.push(node);
      return node;
    };
    const node = await start();
    const client = new KafkaClient({ bootstrapServers: `127.0.0.1:${node.port}`, requestTimeoutMs: 5_000 });
    clients.push(client);
    await client.connect();
    await client.createTopics([{ name: 'disk', numPartitions: 1, replicationFactor: 1 }]);
    for (let i = 0; i < 5; i++) expect(await client.produce('disk', 0, [{ value: `v${i}` }], { acks: -1 })).toBe(i);

    // The disk fails the next fsync of the partition's segment: the acks=-1 write is not acknowledged.
    fs.failOn('sync', 'EIO', { pathIncludes: 'disk-0' });
    await expect(client.produce('disk', 0, [{ value: 'lost-fsync' }], { acks: -1 })).rejects.toThrow();
    for (const deadline = Date.now() + 20_000; fatal.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(fatal.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EIO']);
    // The fatal path stopped the node before reporting: nothing listens any more (checked before our own stop()).
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(node.port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    await node.stop();
    await client.close();

    // The disk is repaired; the restarted node recovers the log from what was fsynced.
    fs.clearFaults();
    const restarted = await start();
    const after = new KafkaClient({ bootstrapServers: `127.0.0.1:${restarted.port}`, requestTimeoutMs: 5_000 });
    clients.push(after);
    await after.connect();
    const res = await after.fetch('disk', 0, 0, { maxWaitMs: 100 });
    expect(res.records.slice(0, 5).map((r) => r.value!.toString())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(await after.produce('disk', 0, [{ value: 'again' }], { acks: -1 })).toBeGreaterThanOrEqual(5);
    expect(fatal).toHaveLength(1);
  });
});
