/** The client with the real wire codec against a real Tributary node started in this process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '@tributary/server';
import { KafkaClient, OffsetSpec, ResourceType } from '@tributary/client';
import { KafkaError } from '@tributary/client';

let node: RunningNode;
let dir: string;
let client: KafkaClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-client-'));
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir }, logger: silentLogger });
  client = new KafkaClient({ bootstrapServers: `${node.host}:${node.port}`, clientId: 'client-test' });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('KafkaClient against a real node', () => {
  it('describes the cluster', async () => {
    const info = await client.describeCluster();
    expect(info.clusterId).toBe(node.clusterId);
    expect(info.brokers.map((b) => b.nodeId)).toEqual([node.nodeId]);
    const md = await client.metadata([]);
    expect(md.controllerId).toBe(node.nodeId);
  });

  it('produces, lists offsets, fetches and deletes records', async () => {
    await client.createTopics([{ name: 'p', numPartitions: 1, replicationFactor: 1 }]);
    const first = await client.produce('p', 0, [
      { key: 'k0', value: 'v0', headers: [{ key: 'h', value: Buffer.from('1') }], timestamp: 1_700_000_000_000 },
      { key: null, value: 'v1', timestamp: 1_700_000_000_001 },
    ]);
    expect(first).toBe(0);
    expect(await client.produce('p', 0, [{ value: 'v2' }], { compression: 'zstd', acks: 1 })).toBe(2);

    expect((await client.listOffsets('p', 0, OffsetSpec.Earliest)).offset).toBe(0);
    expect((await client.listOffsets('p', 0, OffsetSpec.Latest)).offset).toBe(3);

    const fetched = await client.fetch('p', 0, 1, { maxWaitMs: 0 });
    expect(fetched.highWatermark).toBe(3);
    expect(fetched.records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString()])).toEqual([
      [1, null, 'v1'],
      [2, null, 'v2'],
    ]);
    const all = await client.fetch('p', 0, 0, { maxWaitMs: 0 });
    expect(all.records[0]).toMatchObject({ offset: 0, timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: Buffer.from('1') }] });

    expect(await client.deleteRecords('p', 0, 2)).toBe(2);
    expect((await client.listOffsets('p', 0, OffsetSpec.Earliest)).offset).toBe(2);
    await expect(client.fetch('p', 0, 0, { maxWaitMs: 0 })).rejects.toMatchObject({ name: 'OFFSET_OUT_OF_RANGE' });
  });

  it('fetches several partitions in one call, with errors per partition', async () => {
    await client.createTopics([{ name: 'many', numPartitions: 3, replicationFactor: 1 }]);
    await client.produce('many', 0, [{ value: 'a0' }, { value: 'a1' }]);
    await client.produce('many', 2, [{ value: 'c0' }]);
    const results = await client.fetchMany(
      [
        { topic: 'many', partition: 0, offset: 1 },
        { topic: 'many', partition: 1, offset: 0 },
        { topic: 'many', partition: 2, offset: 5 },
        { topic: 'many', partition: 7, offset: 0 },
      ],
      { maxWaitMs: 0 },
    );
    expect(results.map((r) => [r.partition, r.error?.name ?? null, r.records.map((x) => x.value?.toString())])).toEqual([
      [0, null, ['a1']],
      [1, null, []],
      [2, 'OFFSET_OUT_OF_RANGE', []],
      [7, 'UNKNOWN_TOPIC_OR_PARTITION', []],
    ]);
    expect(results[0]!.highWatermark).toBe(2);
  });

  it('grows a topic with createPartitions', async () => {
    await client.createTopics([{ name: 'grow', numPartitions: 1, replicationFactor: 1 }]);
    await client.createPartitions([{ name: 'grow', count: 3 }]);
    const md = await client.metadata(['grow']);
    expect(md.topics[0]!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(await client.produce('grow', 2, [{ value: 'x' }])).toBe(0);
  });

  it('describes and alters topic configs', async () => {
    await client.createTopics([{ name: 'cfg', configs: { 'retention.ms': '1000' } }]);
    await client.incrementalAlterConfigs([
      { type: ResourceType.Topic, name: 'cfg', alterations: [{ name: 'retention.ms', op: 'set', value: '2000' }] },
    ]);
    const [res] = await client.describeConfigs([{ type: ResourceType.Topic, name: 'cfg', keys: ['retention.ms'] }]);
    expect(res!.configs).toEqual([expect.objectContaining({ name: 'retention.ms', value: '2000', isDefault: false })]);
  });

  it('raises KafkaError with the code name', async () => {
    await client.createTopics([{ name: 'twice' }]);
    const err = await client.createTopics([{ name: 'twice' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect(err).toMatchObject({ name: 'TOPIC_ALREADY_EXISTS', code: 36 });
  });
});
