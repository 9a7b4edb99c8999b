// The DescribeLogDirs handler over real partition logs (in memory): sizes are the segments' bytes, request topics
// filter, partitions and topics this broker does not host are left out, and the volume's sizes come from statfs.
import { ManualClock, silentLogger } from '@tributary/common';
import { encodeRecordBatch } from '@tributary/protocol';
import { MemoryFileSystem, PartitionLog, defaultLogConfig } from '@tributary/storage';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Broker, RequestContext } from '../src/broker.ts';
import type { Partition } from '../src/partition.ts';
import { describeLogDirs, handleDescribeLogDirs, volumeOf } from '../src/handlers/describe-log-dirs.ts';

const clock = new ManualClock(1_700_000_000_000);
async function log(fs: MemoryFileSystem, name: string, batches: number, valueBytes: number): Promise<PartitionLog> {
  const l = await PartitionLog.open({ fs, dir: `/data/${name}`, config: { ...defaultLogConfig, segmentBytes: 4096 }, clock, logger: silentLogger });
  for (let i = 0; i < batches; i++) {
    await l.append(encodeRecordBatch({ records: [{ value: Buffer.alloc(valueBytes, i) }], baseTimestamp: clock.nowMs() }), { leaderEpoch: 0, nowMs: clock.nowMs() });
  }
  return l;
}

async function stubBroker(dataDir: string): Promise<{ broker: Broker; logs: Map<string, PartitionLog>; warnings: unknown[] }> {
  const fs = new MemoryFileSystem();
  const logs = new Map<string, PartitionLog>([
    ['b-0', await log(fs, 'b-0', 3, 100)],
    ['a-1', await log(fs, 'a-1', 40, 200)], // past segmentBytes: several segments
    ['a-0', await log(fs, 'a-0', 0, 0)],
  ]);
  const partitions = [...logs.entries()].map(([key, l]) => ({ topic: key.split('-')[0]!, index: Number(key.split('-')[1]), log: l }) as unknown as Partition);
  const warnings: unknown[] = [];
  const broker = {
    replicas: { dataDir, allPartitions: () => partitions.values() },
    logger: { ...silentLogger, warn: (fields: unknown) => warnings.push(fields) },
  } as unknown as Broker;
  return { broker, logs, warnings };
}

const ctx: RequestContext = { header: { apiKey: 35, apiVersion: 4, correlationId: 1, clientId: 'test' }, clientHost: '127.0.0.1', signal: new AbortController().signal };
const tmp = mkdtempSync(join(tmpdir(), 'describe-log-dirs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('DescribeLogDirs handler', () => {
  it('answers every hosted partition (null topics) with its size on disk, sorted, and the volume from statfs', async () => {
    const { broker, logs } = await stubBroker(tmp);
    expect(logs.get('a-1')!.segmentBaseOffsets().length).toBeGreaterThan(1);
    const res = (await handleDescribeLogDirs(broker, ctx, { topics: null })) as any;
    expect(res.errorCode).toBe(0);
    expect(res.results).toHaveLength(1);
    const dir = res.results[0];
    expect(dir.logDir).toBe(tmp);
    expect(dir.errorCode).toBe(0);
    expect(dir.topics).toEqual([
      {
        name: 'a',
        partitions: [
          { partitionIndex: 0, partitionSize: 0, offsetLag: 0, isFutureKey: false },
          { partitionIndex: 1, partitionSize: logs.get('a-1')!.sizeInBytes, offsetLag: 0, isFutureKey: false },
        ],
      },
      { name: 'b', partitions: [{ partitionIndex: 0, partitionSize: logs.get('b-0')!.sizeInBytes, offsetLag: 0, isFutureKey: false }] },
    ]);
    // The sizes are the bytes appended: 40 batches of one 200-byte record, each with its batch and record headers.
    const oneBatch = encodeRecordBatch({ records: [{ value: Buffer.alloc(200) }], baseTimestamp: 0 }).length;
    expect(dir.topics[0].partitions[1].partitionSize).toBe(40 * oneBatch);
    const real = await volumeOf(tmp);
    expect(dir.totalBytes).toBe(real.totalBytes);
    expect(dir.totalBytes).toBeGreaterThan(0);
    expect(dir.usableBytes).toBeGreaterThanOrEqual(0);
    expect(dir.usableBytes).toBeLessThanOrEqual(dir.totalBytes);
  });

  it('filters by the request topics; unknown topics and partitions are left out', async () => {
    const { broker, logs } = await stubBroker(tmp);
    const res = (await handleDescribeLogDirs(broker, ctx, {
      topics: [
        { topic: 'a', partitions: [1, 7] },
        { topic: 'nope', partitions: [0] },
        { topic: 'b', partitions: [] },
      ],
    })) as any;
    expect(res.results[0].topics).toEqual([{ name: 'a', partitions: [{ partitionIndex: 1, partitionSize: logs.get('a-1')!.sizeInBytes, offsetLag: 0, isFutureKey: false }] }]);
    const none = (await handleDescribeLogDirs(broker, ctx, { topics: [{ topic: 'nope', partitions: [0] }] })) as any;
    expect(none.results[0].topics).toEqual([]);
    expect(none.results[0].errorCode).toBe(0);
  });

  it('a relative data dir is answered absolute; a failing statfs gives -1 sizes and a warning, not an error', async () => {
    const { broker, warnings } = await stubBroker('some/relative/dir');
    const res = (await describeLogDirs(broker, { topics: null }, async () => {
      throw new Error('ENOENT: statfs some/relative/dir');
    })) as any;
    expect(res.results[0].logDir).toBe(join(process.cwd(), 'some/relative/dir'));
    expect(res.results[0]).toMatchObject({ errorCode: 0, totalBytes: -1, usableBytes: -1 });
    expect(res.results[0].topics.map((t: any) => t.name)).toEqual(['a', 'b']);
    expect(warnings).toHaveLength(1);
  });

  it('a partition grows in the answer as its log grows', async () => {
    const { broker, logs } = await stubBroker(tmp);
    const before = ((await handleDescribeLogDirs(broker, ctx, { topics: [{ topic: 'b', partitions: [0] }] })) as any).results[0].topics[0].partitions[0].partitionSize;
    await logs.get('b-0')!.append(encodeRecordBatch({ records: [{ value: Buffer.alloc(500) }], baseTimestamp: clock.nowMs() }), { leaderEpoch: 0, nowMs: clock.nowMs() });
    const after = ((await handleDescribeLogDirs(broker, ctx, { topics: [{ topic: 'b', partitions: [0] }] })) as any).results[0].topics[0].partitions[0].partitionSize;
    expect(after).toBeGreaterThan(before + 500);
  });
});
