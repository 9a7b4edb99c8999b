import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection, KafkaError, OffsetSpec } from '@tributary/client';
import { ApiKey, decodeRecords, encodeRecordBatch, readBatchHeader } from '@tributary/protocol';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '../src/node.ts';
import { awaitGroupCoordinator } from './coordinator.ts';

let dir: string;
let node: RunningNode;
let client: KafkaClient;

async function boot(): Promise<void> {
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'offsets.topic.num.partitions': '3', 'num.partitions': '2' }, logger: silentLogger });
  client = new KafkaClient({ bootstrapServers: `127.0.0.1:${node.port}`, requestTimeoutMs: 10_000 });
  await client.connect();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-node-'));
  await boot();
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a single node', () => {
  it('creates, describes and lists topics, refusing bad ones with Kafka errors', async () => {
    await client.createTopics([{ name: 'orders', numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } }]);
    const md = await client.metadata(['orders']);
    const orders = md.topics.find((t) => t.name === 'orders')!;
    expect(orders.partitions.map((p) => p.leader)).toEqual([node.nodeId, node.nodeId, node.nodeId]);
    await expect(client.createTopics([{ name: 'orders', numPartitions: 1, replicationFactor: 1 }])).rejects.toMatchObject({ name: 'TOPIC_ALREADY_EXISTS' });
    await expect(client.createTopics([{ name: 'bad/name', numPartitions: 1, replicationFactor: 1 }])).rejects.toMatchObject({ name: 'INVALID_TOPIC_EXCEPTION' });
    await expect(client.createTopics([{ name: 'rf3', numPartitions: 1, replicationFactor: 3 }])).rejects.toMatchObject({ name: 'INVALID_REPLICATION_FACTOR' });
    await expect(client.createTopics([{ name: 'cfg', numPartitions: 1, replicationFactor: 1, configs: { 'retention.msx': '1' } }])).rejects.toMatchObject({ name: 'INVALID_CONFIG' });
    const [described] = await client.describeConfigs([{ type: 2, name: 'orders' }]);
    const retention = described!.configs.find((c) => c.name === 'retention.ms')!;
    expect(retention).toMatchObject({ value: '3600000', source: 1, isDefault: false });
    const segment = described!.configs.find((c) => c.name === 'segment.bytes')!;
    expect(segment).toMatchObject({ value: '1073741824', source: 5, isDefault: true });
    expect(described!.configs.length).toBeGreaterThan(20);
  });

  it('produces and fetches records byte for byte, and lists offsets', async () => {
    await client.createTopics([{ name: 'events', numPartitions: 1, replicationFactor: 1 }]);
    const records = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`value-${i}`), headers: [{ key: 'h', value: Buffer.from(String(i)) }] }));
    const base = await client.produce('events', 0, records.slice(0, 50), { acks: 1, compression: 'gzip' });
    const base2 = await client.produce('events', 0, records.slice(50), { acks: -1, compression: 'zstd' });
    expect(base).toBe(0);
    expect(base2).toBe(50);
    const got = [];
    let offset = 0;
    for (let i = 0; i < 10 && offset < 100; i++) {
      const res = await client.fetch('events', 0, offset, { maxWaitMs: 100 });
      got.push(...res.records.filter((r) => r.offset >= offset));
      offset = got.length;
      expect(res.highWatermark).toBe(100);
    }
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got.map((r) => r.value!.toString())).toEqual(records.map((r) => r.value.toString()));
    expect(got.map((r) => r.key!.toString())).toEqual(records.map((r) => r.key));
    expect(got[7]!.headers).toEqual([{ key: 'h', value: Buffer.from('7') }]);
    expect((await client.listOffsets('events', 0, OffsetSpec.Earliest)).offset).toBe(0);
    expect((await client.listOffsets('events', 0, OffsetSpec.Latest)).offset).toBe(100);
  });

  it('auto-creates topics on Metadata and on Produce with num.partitions', async () => {
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port });
    try {
      const md: any = await conn.request(ApiKey.Metadata, 9, { topics: [{ name: 'auto-topic' }], allowAutoTopicCreation: true });
      expect(md.topics[0].errorCode).toBe(0);
      expect(md.topics[0].partitions).toHaveLength(2);
      const batch = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), headers: [], timestamp: Date.now() }], compression: 'none' });
      const res: any = await conn.request(ApiKey.Produce, 8, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'auto-produced', partitionData: [{ index: 1, records: batch }] }] });
      expect(res.responses[0].partitionResponses[0]).toMatchObject({ index: 1, errorCode: 0, baseOffset: 0 });
      const off: any = await conn.request(ApiKey.Metadata, 9, { topics: [{ name: 'nope' }], allowAutoTopicCreation: false });
      expect(off.topics[0].errorCode).toBe(3);
    } finally {
      await conn.close();
    }
    expect((await client.metadata(['auto-produced'])).topics[0]!.partitions).toHaveLength(2);
  });

  it('long-polls a fetch until data arrives', async () => {
    await client.createTopics([{ name: 'poll', numPartitions: 1, replicationFactor: 1 }]);
    const other = new KafkaClient({ bootstrapServers: `127.0.0.1:${node.port}` });
    await other.connect();
    try {
      const pending = other.fetch('poll', 0, 0, { maxWaitMs: 10_000, minBytes: 1 });
      await new Promise((r) => setTimeout(r, 50));
      await client.produce('poll', 0, [{ value: 'wake' }], { acks: 1 });
      const res = await pending;
      expect(res.records.map((r) => r.value!.toString())).toEqual(['wake']);
    } finally {
      await other.close();
    }
  });

  it('enforces max.message.bytes and refuses acks=all below min.insync.replicas', async () => {
    await client.createTopics([{ name: 'small', numPartitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': '200' } }]);
    await expect(client.produce('small', 0, [{ value: Buffer.alloc(1000, 1) }], { acks: 1 })).rejects.toMatchObject({ name: 'MESSAGE_TOO_LARGE' });
    await client.createTopics([{ name: 'strict', numPartitions: 1, replicationFactor: 1, configs: { 'min.insync.replicas': '2' } }]);
    await expect(client.produce('strict', 0, [{ value: 'x' }], { acks: -1 })).rejects.toMatchObject({ name: 'NOT_ENOUGH_REPLICAS' });
    expect(await client.produce('strict', 0, [{ value: 'x' }], { acks: 1 })).toBe(0);
  });

  it('applies topic configs on produce: compression.type, LogAppendTime, keys on compacted topics', async () => {
    await client.createTopics([{ name: 'zstd-stored', numPartitions: 1, replicationFactor: 1, configs: { 'compression.type': 'zstd' } }]);
    // acks=-1: answered once the records are below the high watermark (on disk), so a fetch sees them at once.
    await client.produce('zstd-stored', 0, [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }], { acks: -1, compression: 'gzip' });
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port });
    try {
      const res: any = await conn.request(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'zstd-stored', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const records: Buffer = res.responses[0].partitions[0].records;
      expect(readBatchHeader(records, 0).compression).toBe(4);
      expect(decodeRecords(records).records.map((r) => r.value!.toString())).toEqual(['one', 'two']);
    } finally {
      await conn.close();
    }
    await client.createTopics([{ name: 'appended', numPartitions: 1, replicationFactor: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } }]);
    const before = Date.now();
    await client.produce('appended', 0, [{ value: 'x', timestamp: 1000 }], { acks: -1 });
    const [rec] = (await client.fetch('appended', 0, 0, { maxWaitMs: 0 })).records;
    expect(rec!.timestamp).toBeGreaterThanOrEqual(before);
    await client.createTopics([{ name: 'compacted', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
    await expect(client.produce('compacted', 0, [{ value: 'no key' }], { acks: 1 })).rejects.toMatchObject({ name: 'INVALID_RECORD' });
    expect(await client.produce('compacted', 0, [{ key: 'k', value: 'v' }], { acks: 1 })).toBe(0);
  });

  it('deletes records below an offset and topics', async () => {
    expect(await client.deleteRecords('events', 0, 30)).toBe(30);
    expect((await client.listOffsets('events', 0, OffsetSpec.Earliest)).offset).toBe(30);
    await client.deleteTopics(['auto-topic']);
    const md = await client.metadata();
    expect(md.topics.map((t) => t.name)).not.toContain('auto-topic');
    await expect(client.deleteTopics(['auto-topic'])).rejects.toBeInstanceOf(KafkaError);
  });

  it('commits offsets for a simple consumer group, refusing unknown partitions', async () => {
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port });
    try {
      await awaitGroupCoordinator(conn, 'simple');
      const res: any = await conn.request(ApiKey.OffsetCommit, 8, {
        groupId: 'simple', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [
          { name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'm' }] },
          { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] },
        ],
      });
      expect(res.topics.map((t: any) => [t.name, t.partitions[0].errorCode])).toEqual([['events', 0], ['no-such-topic', 3]]);
    } finally {
      await conn.close();
    }
  });

  it('idempotent producer: a retried batch is acknowledged with its first offset and not appended again; gaps and old epochs are refused', async () => {
    await client.createTopics([{ name: 'idem', numPartitions: 1, replicationFactor: 1 }]);
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port });
    try {
      const init: any = await conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      expect(init.errorCode).toBe(0);
      const produce = async (baseSequence: number, epoch: number, values: string[]): Promise<any> => {
        const records = encodeRecordBatch({ records: values.map((v) => ({ value: v, timestamp: Date.now() })), compression: 'none', producerId: init.producerId, producerEpoch: epoch, baseSequence });
        const res: any = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'idem', partitionData: [{ index: 0, records }] }] });
        return res.responses[0].partitionResponses[0];
      };
      expect(await produce(0, init.producerEpoch, ['a', 'b'])).toMatchObject({ errorCode: 0, baseOffset: 0 });
      expect(await produce(2, init.producerEpoch, ['c'])).toMatchObject({ errorCode: 0, baseOffset: 2 });
      // The retry of the first batch: same offsets back, nothing appended.
      expect(await produce(0, init.producerEpoch, ['a', 'b'])).toMatchObject({ errorCode: 0, baseOffset: 0 });
      expect((await client.listOffsets('idem', 0, OffsetSpec.Latest)).offset).toBe(3);
      // A batch ahead of the next sequence: retriable NOT_ENOUGH_REPLICAS (an earlier batch is missing), nothing appended.
      const gap = await produce(5, init.producerEpoch, ['gap']);
      expect(gap).toMatchObject({ errorCode: 19 });
      expect(gap.errorMessage).toMatch(/sequence 5 arrived but the log ends at sequence 2; nothing was appended/);
      expect((await client.listOffsets('idem', 0, OffsetSpec.Latest)).offset).toBe(3);
      // A batch behind it that is not one of the retained ones: OUT_OF_ORDER_SEQUENCE_NUMBER.
      expect(await produce(1, init.producerEpoch, ['behind'])).toMatchObject({ errorCode: 45 });
      const bumped: any = await conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: init.producerId, producerEpoch: init.producerEpoch });
      expect(bumped.producerEpoch).toBe(init.producerEpoch + 1);
      expect(await produce(0, bumped.producerEpoch, ['new epoch'])).toMatchObject({ errorCode: 0, baseOffset: 3 });
      expect(await produce(3, init.producerEpoch, ['zombie'])).toMatchObject({ errorCode: 47 }); // INVALID_PRODUCER_EPOCH
      expect((await client.listOffsets('idem', 0, OffsetSpec.Latest)).offset).toBe(4);
    } finally {
      await conn.close();
    }
  });

  it('keeps topics, data, committed offsets and the log start offset across a restart', { timeout: 30_000 }, async () => {
    await client.close();
    await node.stop();
    await boot();
    const md = await client.metadata(['events', 'orders']);
    expect(md.topics.find((t) => t.name === 'orders')!.partitions).toHaveLength(3);
    expect((await client.listOffsets('events', 0, OffsetSpec.Earliest)).offset).toBe(30);
    expect((await client.listOffsets('events', 0, OffsetSpec.Latest)).offset).toBe(100);
    const res = await client.fetch('events', 0, 99, { maxWaitMs: 0 });
    expect(res.records.at(-1)!.value!.toString()).toBe('value-99');
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port });
    try {
      let fetched: any;
      // The coordinator may still be loading right after start: COORDINATOR_LOAD_IN_PROGRESS is retriable.
      for (let i = 0; i < 50; i++) {
        fetched = await conn.request(ApiKey.OffsetFetch, 7, { groupId: 'simple', topics: [{ name: 'events', partitionIndexes: [0] }], requireStable: false });
        if (fetched.errorCode !== 14) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(fetched.errorCode).toBe(0);
      expect(fetched.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, committedOffset: 42, metadata: 'm', errorCode: 0 });
    } finally {
      await conn.close();
    }
  });
});
