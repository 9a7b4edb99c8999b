/**
 * Wires the group coordinator to the internal compacted topic `__consumer_offsets`: creates the
 * topic on first start, replays each partition into the coordinator, and appends the
 * coordinator's records as record batches, fsynced before the coordinator acknowledges.
 * On a single node this broker leads every partition; with replication the same port moves
 * with partition leadership.
 */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '@tributary/protocol';
import type { BrokerConfig } from './config/broker-config.ts';
import type { ReplicaManager } from './replica-manager.ts';
import { GroupCoordinator, type GroupRecord, type GroupStorePort } from './group/index.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Bytes read per step while loading a partition: bounds memory during replay. */
const LOAD_READ_BYTES = 1024 * 1024;

export async function createGroupStore(opts: { config: BrokerConfig; replicas: ReplicaManager; clock: Clock; timer: Timer; rng: Rng; logger: Logger; newUuid: () => string }): Promise<{ coordinator: GroupCoordinator; stop(): void }> {
  const { config, replicas, logger } = opts;
  const numPartitions = config.int('offsets.topic.num.partitions');
  let topic = replicas.registry.get(OFFSETS_TOPIC);
  if (!topic) {
    topic = {
      name: OFFSETS_TOPIC,
      topicId: opts.newUuid(),
      numPartitions,
      configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(config.int('offsets.topic.segment.bytes')), 'compression.type': 'producer' },
      internal: true,
    };
    await replicas.createTopic(topic);
  }
  const partitionCount = topic.numPartitions;

  const store: GroupStorePort = {
    async append(partition: number, records: GroupRecord[]): Promise<void> {
      const p = replicas.partition(OFFSETS_TOPIC, partition);
      if (!p) throw Object.assign(new Error(`${OFFSETS_TOPIC}-${partition} is not hosted here`), { errorCode: 16 /* NOT_COORDINATOR */ });
      const nowMs = opts.clock.nowMs();
      const batch = encodeRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value, timestamp: nowMs, headers: [] })), compression: 'none' });
      await p.log.append(batch, { leaderEpoch: p.leaderEpoch, nowMs });
      // Write, then acknowledge: a commit the client saw succeed must survive a crash.
      await p.log.flush();
    },
  };

  const coordinator = new GroupCoordinator({
    config: {
      groupMinSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
      groupMaxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
      groupInitialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
      groupMaxSize: config.int('group.max.size'),
      offsetsRetentionMinutes: config.int('offsets.retention.minutes'),
      offsetsTopicNumPartitions: partitionCount,
      offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    },
    store,
    clock: opts.clock,
    timer: opts.timer,
    rng: opts.rng,
    logger,
  });

  for (let i = 0; i < partitionCount; i++) {
    const p = replicas.partition(OFFSETS_TOPIC, i);
    if (!p) continue;
    await coordinator.loadPartition(i, readAll(p.log));
  }
  logger.info({ partitions: partitionCount }, 'group coordinator loaded');
  const expireEveryMs = config.int('offsets.retention.check.interval.ms');
  let stopped = false;
  let handle: { cancel(): void } | null = null;
  const scheduleExpiry = (): void => {
    if (stopped) return;
    handle = opts.timer.after(expireEveryMs, () => {
      const batches = coordinator.expireOffsets(opts.clock.nowMs());
      Promise.all(batches.map((b) => store.append(b.partition, b.records)))
        .catch((err) => logger.error({ err }, 'appending expired-offset tombstones failed; will retry next interval'))
        .finally(scheduleExpiry);
    });
  };
  scheduleExpiry();
  return {
    coordinator,
    stop: () => {
      stopped = true;
      handle?.cancel();
    },
  };
}

async function* readAll(log: { logStartOffset: number; logEndOffset: number; read(offset: number, o: { maxBytes: number; minOneMessage: boolean }): Promise<{ records: Buffer; nextOffset: number }> }): AsyncGenerator<GroupRecord> {
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  // Bounded by the log end captured at start: each step advances past at least one batch.
  while (offset < end) {
    const { records, nextOffset } = await log.read(offset, { maxBytes: LOAD_READ_BYTES, minOneMessage: true });
    if (records.length === 0 || nextOffset <= offset) break;
    for (const b of iterateBatches(records)) {
      const batch = records.subarray(b.position, b.position + b.sizeInBytes);
      for (const r of decodeRecords(batch).records) {
        if (r.offset < offset) continue;
        if (r.key !== null) yield { key: r.key, value: r.value };
      }
    }
    offset = nextOffset;
  }
}
