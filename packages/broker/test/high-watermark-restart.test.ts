// A partition leader after a restart of its broker, in process: the real ReplicaManager and Partition over the
// in-memory file system, and the real ListOffsets handler. Records are committed (high watermark N), the replica
// manager closes (writing the high-watermark checkpoint) and a new one opens the same data directory as leader of a
// new epoch whose followers have not fetched yet. With the checkpoint, ListOffsets answers N at once; without it the
// leader's high watermark is 0, and a client's ListOffsets gets the retriable OFFSET_NOT_AVAILABLE (never the stale 0)
// until the in-sync followers have fetched.
import { ManualClock, silentLogger } from '@tributary/common';
import { applyAll, MetadataImage, type MetadataRecord } from '@tributary/metadata';
import { ErrorCode, encodeRecordBatch } from '@tributary/protocol';
import { MemoryFileSystem, PartitionLog, defaultLogConfig } from '@tributary/storage';
import { describe, expect, it } from 'vitest';
import type { Broker, RequestContext } from '../src/broker.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import { handleListOffsets } from '../src/handlers/list-offsets.ts';
import { HIGH_WATERMARK_CHECKPOINT_FILE, readHighWatermarkCheckpoint } from '../src/high-watermark-checkpoint.ts';
import type { Partition } from '../src/partition.ts';
import { ReplicaManager } from '../src/replica-manager.ts';
import { FakeTimer } from './group/helpers.ts';

const DATA_DIR = '/data';
const TOPIC = 'orders';
const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const N = 25;
const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

const clock = new ManualClock(1_700_000_000_000);

function image(leaderEpoch: number, isr: number[]): MetadataImage {
  const records: MetadataRecord[] = [
    { type: 'topic', name: TOPIC, topicId: TOPIC_ID },
    { type: 'partition', topicId: TOPIC_ID, partitionId: 0, replicas: [1, 2, 3], isr, leader: 1, leaderEpoch, partitionEpoch: leaderEpoch },
  ];
  return applyAll(MetadataImage.EMPTY, records);
}

function replicaManager(fs: MemoryFileSystem): ReplicaManager {
  return new ReplicaManager({ fs, dataDir: DATA_DIR, nodeId: 1, brokerDefaults: new BrokerConfig({}), clock, timer: new FakeTimer(clock), logger: silentLogger });
}

/** Applies the image and gives the partition its role, as the broker's ReplicationManager does for a leader. */
async function lead(rm: ReplicaManager, img: MetadataImage): Promise<Partition> {
  const changes = await rm.applyImage(img);
  const p = changes.changed[0]!;
  await p.becomeLeader(1, clock.nowMs());
  return p;
}

/** A first life of the broker: leader of epoch 0 alone in the ISR, N records committed, then a clean close. */
async function firstLife(fs: MemoryFileSystem): Promise<void> {
  const rm = replicaManager(fs);
  const p = await lead(rm, image(0, [1]));
  for (let i = 0; i < N; i++) {
    await p.log.append(encodeRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }], baseTimestamp: clock.nowMs() + i }), { leaderEpoch: 0, nowMs: clock.nowMs() });
    p.onLeaderAppend();
  }
  // fsync durability: the high watermark follows the group-commit flush.
  for (let i = 0; i < 100 && p.highWatermark < N; i++) await new Promise((r) => setImmediate(r));
  expect(p.highWatermark).toBe(N);
  await rm.close();
}

function stubBroker(rm: ReplicaManager, img: MetadataImage): Broker {
  return { replicas: rm, metadata: { image: img }, logger: silentLogger } as unknown as Broker;
}

const ctx = (apiVersion: number): RequestContext => ({ header: { apiKey: 2, apiVersion, correlationId: 1, clientId: 'test' }, clientHost: '127.0.0.1', signal: new AbortController().signal });

async function listOffsets(broker: Broker, timestamp: number, replicaId = -1, version = 7): Promise<{ errorCode: number; offset: number }> {
  const body = { replicaId, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] };
  const res = (await handleListOffsets(broker, ctx(version), body)) as any;
  const part = res.topics[0].partitions[0];
  return { errorCode: part.errorCode, offset: part.offset };
}

/** An in-sync follower's fetch at the leader's log end (it has everything on disk). */
function followerFetches(p: Partition, replicaId: number): void {
  const decision = p.leaderState!.onFollowerFetch(replicaId, { currentLeaderEpoch: p.leaderEpoch, fetchOffset: N, lastFetchedEpoch: 0, flushedOffset: N, nowMs: clock.nowMs() });
  expect(decision.kind).toBe('read');
}

describe('ListOffsets from a leader after every replica restarted', () => {
  it('with the high-watermark checkpoint: the leader starts at the committed high watermark and answers it at once', async () => {
    const fs = new MemoryFileSystem();
    await firstLife(fs);
    const cp = await readHighWatermarkCheckpoint(fs, DATA_DIR);
    expect(cp).toEqual({ kind: 'ok', entries: [{ topic: TOPIC, partition: 0, topicId: TOPIC_ID, highWatermark: N }] });

    const rm = replicaManager(fs);
    const img = image(1, [1, 2, 3]);
    const p = await lead(rm, img);
    expect(p.leaderState!.leaderEpochStartOffset).toBe(N);
    expect(p.highWatermark).toBe(N);
    expect(p.highWatermarkEstablished).toBe(true);
    const broker = stubBroker(rm, img);
    expect(await listOffsets(broker, LATEST)).toEqual({ errorCode: ErrorCode.NONE, offset: N });
    expect(await listOffsets(broker, EARLIEST)).toEqual({ errorCode: ErrorCode.NONE, offset: 0 });
    expect((await listOffsets(broker, MAX_TIMESTAMP)).errorCode).toBe(ErrorCode.NONE);
    await rm.close();
  });

  it('without it: OFFSET_NOT_AVAILABLE for every timestamp spec, never the stale 0, until the in-sync followers fetch', async () => {
    const fs = new MemoryFileSystem();
    await firstLife(fs);
    await fs.unlink(`${DATA_DIR}/${HIGH_WATERMARK_CHECKPOINT_FILE}`);

    const rm = replicaManager(fs);
    const img = image(1, [1, 2, 3]);
    const p = await lead(rm, img);
    expect(p.highWatermark).toBe(0);
    expect(p.highWatermarkEstablished).toBe(false);
    const broker = stubBroker(rm, img);
    for (const ts of [LATEST, MAX_TIMESTAMP, clock.nowMs()]) {
      expect(await listOffsets(broker, ts), `timestamp ${ts}`).toEqual({ errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, offset: -1 });
    }
    // Before v5 the code does not exist (kafka-python 2.0.2 would fail its poll on it): LEADER_NOT_AVAILABLE, retriable.
    for (const version of [1, 2, 3, 4]) expect(await listOffsets(broker, LATEST, -1, version)).toEqual({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, offset: -1 });
    expect((await listOffsets(broker, LATEST, -1, 5)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE);
    // The log start does not depend on the high watermark: earliest is answered all along.
    expect(await listOffsets(broker, EARLIEST)).toEqual({ errorCode: ErrorCode.NONE, offset: 0 });
    // A broker's or a debugging tool's request is not a client's: it gets the leader's view, stale as it is. This is
    // the answer a consumer resetting to latest would have got before.
    expect(await listOffsets(broker, LATEST, 2)).toEqual({ errorCode: ErrorCode.NONE, offset: 0 });
    expect(await listOffsets(broker, LATEST, -2)).toEqual({ errorCode: ErrorCode.NONE, offset: 0 });

    // One follower is not enough: the high watermark waits for the whole ISR.
    followerFetches(p, 2);
    expect(p.highWatermark).toBe(0);
    expect((await listOffsets(broker, LATEST)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE);
    followerFetches(p, 3);
    expect(p.highWatermark).toBe(N);
    expect(p.highWatermarkEstablished).toBe(true);
    expect(await listOffsets(broker, LATEST)).toEqual({ errorCode: ErrorCode.NONE, offset: N });
    expect(await listOffsets(broker, EARLIEST)).toEqual({ errorCode: ErrorCode.NONE, offset: 0 });
    await rm.close();
  });

  it('a corrupt checkpoint is ignored (never a high watermark above the log) and the broker still starts', async () => {
    const fs = new MemoryFileSystem();
    await firstLife(fs);
    fs.flipBit(`${DATA_DIR}/${HIGH_WATERMARK_CHECKPOINT_FILE}`, 4, 0);
    const rm = replicaManager(fs);
    const img = image(1, [1, 2, 3]);
    const p = await lead(rm, img);
    expect(p.highWatermark).toBe(0);
    expect((await listOffsets(stubBroker(rm, img), LATEST)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE);
    // The next write replaces it with a valid one.
    await rm.checkpointHighWatermarks();
    expect(await readHighWatermarkCheckpoint(fs, DATA_DIR)).toEqual({ kind: 'ok', entries: [{ topic: TOPIC, partition: 0, topicId: TOPIC_ID, highWatermark: 0 }] });
    await rm.close();
  });

  it('a checkpoint above what the log recovered is capped at the log end', async () => {
    const fs = new MemoryFileSystem();
    await firstLife(fs);
    // The log loses its tail (as a crash of an unsynced replica could); the checkpoint still says N.
    const log = await PartitionLog.open({ fs, dir: `${DATA_DIR}/${TOPIC}-0`, config: defaultLogConfig, clock, logger: silentLogger });
    await log.truncateTo(10);
    await log.close();
    const rm = replicaManager(fs);
    const img = image(2, [1, 2, 3]);
    const p = await lead(rm, img);
    expect(p.log.logEndOffset).toBe(10);
    expect(p.highWatermark).toBe(10);
    expect(await listOffsets(stubBroker(rm, img), LATEST)).toEqual({ errorCode: ErrorCode.NONE, offset: 10 });
    await rm.close();
  });

  it('a deleted partition leaves the checkpoint at the next write', async () => {
    const fs = new MemoryFileSystem();
    await firstLife(fs);
    const rm = replicaManager(fs);
    await lead(rm, image(1, [1, 2, 3]));
    await rm.applyImage(applyAll(image(1, [1, 2, 3]), [{ type: 'remove-topic', topicId: TOPIC_ID }]));
    await rm.checkpointHighWatermarks();
    expect(await readHighWatermarkCheckpoint(fs, DATA_DIR)).toEqual({ kind: 'ok', entries: [] });
    await rm.close();
  });
});
