/**
 * Wires the group coordinator to the internal compacted topic `__consumer_offsets`: the broker that leads a
 * partition of it coordinates that partition's groups. On gaining leadership the partition's records are
 * replayed into the coordinator (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS); on losing it the
 * groups are dropped (NOT_COORDINATOR sends clients to the new leader). The coordinator's records are
 * appended like an acks=all produce: answered only once every in-sync replica has them (on disk, in the default
 * durability), so a committed offset survives the coordinator's failover.
 */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '@tributary/protocol';
import type { BrokerConfig } from './config/broker-config.ts';
import type { Partition } from './partition.ts';
import type { ReplicaManager } from './replica-manager.ts';
import { GroupCoordinator, type GroupRecord, type GroupStorePort } from './group/index.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Bytes read per step while loading a partition: bounds memory during replay. */
const LOAD_READ_BYTES = 1024 * 1024;
const NOT_COORDINATOR = 16;
const COORDINATOR_NOT_AVAILABLE = 15;
const NONE = 0;
/** Kafka's mapping of a failed acks=all append of the coordinator: the leadership moved -> NOT_COORDINATOR (ask
 * again where it went); not enough replicas or too slow -> COORDINATOR_NOT_AVAILABLE (retry). */
const NOT_LEADER_OR_FOLLOWER = 6;

export interface GroupStore {
  readonly coordinator: GroupCoordinator;
  /** This broker now leads the partition: load its groups (in the background). */
  load(partition: Partition): void;
  /** Leadership moved away: drop the partition's groups. */
  unload(index: number): void;
  stop(): void;
}

export function createGroupStore(opts: { config: BrokerConfig; replicas: ReplicaManager; clock: Clock; timer: Timer; rng: Rng; logger: Logger }): GroupStore {
  const { config, replicas, logger } = opts;
  const partitionCount = config.int('offsets.topic.num.partitions');
  const commitTimeoutMs = config.int('offsets.commit.timeout.ms');

  const store: GroupStorePort = {
    async append(partition: number, records: GroupRecord[]): Promise<void> {
      const p = replicas.leaderPartition(OFFSETS_TOPIC, partition);
      if (!p) throw Object.assign(new Error(`${OFFSETS_TOPIC}-${partition} is not led by this broker`), { errorCode: NOT_COORDINATOR });
      const leader = p.leaderState;
      if (leader === null) throw Object.assign(new Error(`${OFFSETS_TOPIC}-${partition} is not led by this broker yet`), { errorCode: NOT_COORDINATOR });
      if (leader.checkProduce(-1) !== NONE) {
        throw Object.assign(new Error(`${OFFSETS_TOPIC}-${partition} has ${leader.isr.length} in-sync replica(s), fewer than min.insync.replicas ${leader.minInsyncReplicas}`), { errorCode: COORDINATOR_NOT_AVAILABLE });
      }
      const nowMs = opts.clock.nowMs();
      const batch = encodeRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value, timestamp: nowMs, headers: [] })), compression: 'none' });
      const appended = await p.log.append(batch, { leaderEpoch: p.leaderEpoch, nowMs });
      // As a produce does: the rules learn the new log end (and flush it), followers long-polling wake up.
      p.onLeaderAppend();
      replicas.waiters.notify(p.key);
      // Acknowledged only once the whole ISR has it: a commit the client saw succeed must survive the failover.
      const code = await p.waitForAcksAll(appended.lastOffset + 1, commitTimeoutMs, (ms, fn) => opts.timer.after(ms, fn));
      if (code !== NONE) {
        throw Object.assign(new Error(`${OFFSETS_TOPIC}-${partition}: appended at offset ${appended.firstOffset} but not replicated to every in-sync replica (error ${code}); retry`), {
          errorCode: code === NOT_LEADER_OR_FOLLOWER ? NOT_COORDINATOR : COORDINATOR_NOT_AVAILABLE,
        });
      }
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
    load(p: Partition): void {
      if (stopped) return;
      if (p.index >= partitionCount) {
        logger.error({ partition: p.index, partitions: partitionCount }, `${OFFSETS_TOPIC} has more partitions than offsets.topic.num.partitions; groups of the extra partitions are not served. Set offsets.topic.num.partitions to the topic's partition count`);
        return;
      }
      coordinator.loadPartition(p.index, readAll(p.log)).catch((err) => logger.error({ err, partition: p.index }, `loading ${OFFSETS_TOPIC} partition failed; its groups stay unavailable until leadership changes`));
    },
    unload(index: number): void {
      if (index < partitionCount) coordinator.unloadPartition(index);
    },
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
