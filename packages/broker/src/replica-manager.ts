/**
 * Owns the partition replicas this broker hosts. The committed cluster metadata (the controller's image,
 * applied in order by the broker) decides which partitions exist, which of them this broker holds and
 * who leads; `applyImage` makes the local logs follow: opening (and recovering) or creating the log of a
 * partition assigned here, deleting the logs of deleted topics and of partitions moved away, and updating
 * leadership, epochs and topic configs. Partition directories carry the topic id, so a topic deleted and
 * created again under the same name while this broker was down never resurrects the old data.
 *
 * High watermarks: every partition's is written to the data directory's high-watermark checkpoint
 * (`checkpointHighWatermarks`, which the broker calls every replica.high.watermark.checkpoint.interval.ms, and `close`)
 * and a partition opened here starts from the checkpointed value (see high-watermark-checkpoint.ts).
 */
import { assert, type Clock, type Logger, type Timer } from '@tributary/common';
import type { MetadataImage, TopicImage } from '@tributary/metadata';
import { PartitionLog, joinPath, writeFileAtomic, type FileSystem, type LogConfig } from '@tributary/storage';
import { resolveTopicConfig, type ResolvedTopicConfig, type TopicConfigOverrides, type BrokerDefaults } from './config/topic-config.ts';
import { FetchWaiters } from './fetch-waiters.ts';
import { HighWatermarkCheckpoint } from './high-watermark-checkpoint.ts';
import { Partition, partitionKey } from './partition.ts';

export const MAX_PARTITIONS_PER_TOPIC = 10_000;
/** Written into each partition directory: which topic (by id) the data belongs to. */
export const PARTITION_METADATA_FILE = 'partition.metadata';
/** Directories in the data dir that are not partition logs (the metadata quorum, node metadata). */
const RESERVED_DIR_PREFIXES = ['__tributary', '__cluster_metadata'];

export interface ImageChanges {
  /** Partitions this broker now leads that it did not lead before (or that were just created). */
  readonly becameLeader: Partition[];
  /** Partitions this broker led before and no longer leads (moved, deleted, or the topic is gone). */
  readonly stoppedLeading: { topic: string; index: number }[];
  /** Hosted partitions whose assignment (leader, epochs, replicas, ISR) is new or changed: their roles follow. */
  readonly changed: Partition[];
  /** Hosted partitions removed from this broker (their role already ended). */
  readonly removed: Partition[];
}

export function logConfigFor(c: ResolvedTopicConfig): LogConfig {
  // A compacted log rolls by max.compaction.lag.ms too, so the active segment (never cleaned)
  // cannot hold records past that lag (Kafka does the same).
  const compacted = c.cleanupPolicy.includes('compact');
  return {
    segmentBytes: c.segmentBytes,
    segmentMs: compacted ? Math.min(c.segmentMs, c.maxCompactionLagMs) : c.segmentMs,
    segmentIndexBytes: c.segmentIndexBytes,
    indexIntervalBytes: c.indexIntervalBytes,
    retentionMs: c.retentionMs,
    retentionBytes: c.retentionBytes,
    flushMessages: c.flushMessages,
    flushMs: c.flushMs,
    fileDeleteDelayMs: c.fileDeleteDelayMs,
  };
}

export function partitionDirName(topic: string, index: number): string {
  return `${topic}-${index}`;
}

export class ReplicaManager {
  readonly fs: FileSystem;
  readonly dataDir: string;
  readonly nodeId: number;
  readonly brokerDefaults: BrokerDefaults;
  readonly waiters: FetchWaiters;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #partitions = new Map<string, Partition>();
  readonly #byTopic = new Map<string, Partition[]>();
  #serial: Promise<unknown> = Promise.resolve();
  /** The image the hosted partitions reflect. */
  #image: MetadataImage | null = null;
  readonly #hwCheckpoint: HighWatermarkCheckpoint;

  /** A partition log broke and refuses writes (its directory, the error). */
  readonly #onLogFailed: ((dir: string, err: Error) => void) | null;

  constructor(opts: { fs: FileSystem; dataDir: string; nodeId: number; brokerDefaults: BrokerDefaults; clock: Clock; timer: Timer; logger: Logger; onLogFailed?: (dir: string, err: Error) => void }) {
    this.#onLogFailed = opts.onLogFailed ?? null;
    this.fs = opts.fs;
    this.dataDir = opts.dataDir;
    this.nodeId = opts.nodeId;
    this.brokerDefaults = opts.brokerDefaults;
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.waiters = new FetchWaiters(opts.timer);
    this.#hwCheckpoint = new HighWatermarkCheckpoint({
      fs: opts.fs,
      dataDir: opts.dataDir,
      logger: opts.logger,
      current: () => [...this.#partitions.values()].map((p) => ({ topic: p.topic, partition: p.index, topicId: p.topicId, highWatermark: p.highWatermark })),
    });
  }

  /**
   * Writes every hosted partition's high watermark to the checkpoint file (one write at a time: a call during a write
   * waits for it and writes once more). Never rejects; a failed write is logged.
   */
  checkpointHighWatermarks(): Promise<void> {
    return this.#hwCheckpoint.write();
  }

  /** A partition hosted here, leader or not. */
  partition(topic: string, index: number): Partition | undefined {
    return this.#partitions.get(partitionKey(topic, index));
  }

  /** A partition this broker leads: the only ones it serves produce, fetch and offsets for. */
  leaderPartition(topic: string, index: number): Partition | undefined {
    const p = this.#partitions.get(partitionKey(topic, index));
    return p !== undefined && p.isServingLeader ? p : undefined;
  }

  partitionsOf(topic: string): Partition[] {
    return (this.#byTopic.get(topic) ?? []).filter((p) => p !== undefined);
  }

  allPartitions(): IterableIterator<Partition> {
    return this.#partitions.values();
  }

  resolveConfig(overrides: TopicConfigOverrides): ResolvedTopicConfig {
    return resolveTopicConfig(overrides, this.brokerDefaults);
  }

  /**
   * Makes the hosted partitions match `image`. Called in metadata order (never concurrently). Topics whose
   * image object is unchanged are skipped, so a step costs the number of changed topics plus one pass over
   * the topic map.
   */
  applyImage(image: MetadataImage): Promise<ImageChanges> {
    return this.#serially(() => this.#applyImage(image));
  }

  /** applyImage and removeStrayLogs never overlap: a log being opened must not look stray. */
  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => {});
    return run;
  }

  async #applyImage(image: MetadataImage): Promise<ImageChanges> {
    // The checkpointed high watermarks are known before the first partition opens.
    await this.#hwCheckpoint.load();
    const previous = this.#image;
    const becameLeader: Partition[] = [];
    const stoppedLeading: { topic: string; index: number }[] = [];
    const changed: Partition[] = [];
    const removed: Partition[] = [];
    const remove = async (p: Partition, reason: string): Promise<void> => {
      removed.push(p);
      await this.#remove(p, reason);
    };
    // Removed topics (by id: a re-created name is a different topic).
    if (previous !== null) {
      for (const [topicId, old] of previous.topicsById) {
        if (image.topicsById.has(topicId)) continue;
        for (const p of this.partitionsOf(old.name)) {
          if (p.topicId !== topicId) continue;
          if (p.isLeader) stoppedLeading.push({ topic: p.topic, index: p.index });
          await remove(p, 'topic deleted');
        }
      }
    }
    for (const [topicId, topic] of image.topicsById) {
      const before = previous?.topicsById.get(topicId);
      const configs = image.topicConfigs.get(topic.name);
      const configsChanged = previous === null || previous.topicConfigs.get(topic.name) !== configs;
      if (before === topic && !configsChanged) continue;
      const config = this.resolveConfig(configs ? Object.fromEntries(configs) : {});
      for (const part of topic.partitions) {
        const key = partitionKey(topic.name, part.partitionId);
        let hosted = this.#partitions.get(key);
        if (hosted !== undefined && hosted.topicId !== topicId) {
          // The name now belongs to another topic: the old one's removal above already ran, unless the
          // old id never was in an image this broker applied (deleted and re-created while it was away).
          if (hosted.isLeader) stoppedLeading.push({ topic: hosted.topic, index: hosted.index });
          await remove(hosted, 'topic re-created with a new id');
          hosted = undefined;
        }
        const assigned = part.replicas.includes(this.nodeId);
        if (!assigned) {
          if (hosted !== undefined) {
            if (hosted.isLeader) stoppedLeading.push({ topic: hosted.topic, index: hosted.index });
            await remove(hosted, 'replica moved to other brokers');
          }
          continue;
        }
        if (hosted === undefined) hosted = await this.#open(topic, part.partitionId, config);
        else if (configsChanged) {
          hosted.config = config;
          hosted.log.updateConfig(logConfigFor(config));
        }
        const wasLeader = hosted.isLeader && hosted.leaderEpoch === part.leaderEpoch;
        const ledBefore = hosted.isLeader;
        const same =
          hosted.leaderId === part.leader &&
          hosted.leaderEpoch === part.leaderEpoch &&
          hosted.partitionEpoch === part.partitionEpoch &&
          hosted.replicas === part.replicas &&
          hosted.isr === part.isr &&
          (hosted.leaderState !== null || hosted.followerState !== null || part.leader < 0);
        hosted.assign({ leaderId: part.leader, leaderEpoch: part.leaderEpoch, partitionEpoch: part.partitionEpoch, replicas: part.replicas, isr: part.isr });
        if (!same || configsChanged) changed.push(hosted);
        if (hosted.isLeader && !wasLeader) becameLeader.push(hosted);
        else if (!hosted.isLeader && ledBefore) stoppedLeading.push({ topic: hosted.topic, index: hosted.index });
        // Parked fetches re-check leadership and epochs.
        if (!hosted.isLeader || !wasLeader) this.waiters.notify(key);
      }
    }
    this.#image = image;
    return { becameLeader, stoppedLeading, changed, removed };
  }

  /**
   * Deletes partition directories the committed metadata does not assign here (topics deleted while this
   * broker was down, replicas moved away). Run once the broker has caught up with the metadata, never
   * before: an image that is merely behind would delete live data.
   */
  removeStrayLogs(): Promise<number> {
    return this.#serially(() => this.#removeStrayLogs());
  }

  async #removeStrayLogs(): Promise<number> {
    // Caught up: every partition assigned here has opened and claimed its checkpointed high watermark; the rest of the
    // file names partitions this broker no longer hosts.
    const dropped = this.#hwCheckpoint.dropUnclaimed();
    if (dropped > 0) this.#logger.info({ partitions: dropped }, 'the high-watermark checkpoint named partitions this broker no longer hosts; they leave it at the next write');
    let removed = 0;
    // Kept: what the applied image assigns here (and what is open, which is the same once applyImage finished).
    const hosted = new Set([...this.#partitions.values()].map((p) => partitionDirName(p.topic, p.index)));
    for (const t of this.#image?.topicsById.values() ?? []) {
      for (const p of t.partitions) if (p.replicas.includes(this.nodeId)) hosted.add(partitionDirName(t.name, p.partitionId));
    }
    for (const name of await this.fs.readdir(this.dataDir)) {
      if (RESERVED_DIR_PREFIXES.some((prefix) => name.startsWith(prefix)) || hosted.has(name)) continue;
      if (/^.+-\d+(\..*-delete)?$/.test(name)) {
        this.#logger.warn({ dir: name }, 'removing a partition directory the cluster metadata does not assign to this broker');
        await this.fs.rmdir(joinPath(this.dataDir, name));
        removed++;
      }
    }
    return removed;
  }

  /** Deletes expired segments everywhere; errors are logged per partition and never stop the loop. */
  async enforceRetention(): Promise<number> {
    let deleted = 0;
    const nowMs = this.#clock.nowMs();
    for (const p of [...this.#partitions.values()]) {
      if (!p.config.cleanupPolicy.includes('delete')) continue;
      try {
        deleted += (await p.log.enforceRetention(nowMs)).deletedSegments;
      } catch (err) {
        this.#logger.error({ topic: p.topic, partition: p.index, err }, 'retention failed for partition; will retry next interval');
      }
    }
    return deleted;
  }

  /**
   * One cleaner round: every compacted partition whose dirty ratio, max.compaction.lag.ms or a due
   * tombstone horizon calls for it gets a pass, dirtiest first. Nothing at or above the high
   * watermark is cleaned. Errors are logged per partition and never stop the round.
   */
  async compactDue(offsetMapBytes: number): Promise<number> {
    const nowMs = this.#clock.nowMs();
    const candidates: { p: Partition; ratio: number }[] = [];
    for (const p of this.#partitions.values()) {
      if (!p.config.cleanupPolicy.includes('compact')) continue;
      candidates.push({ p, ratio: p.log.cleanableDirtyRatio(nowMs, { minCompactionLagMs: p.config.minCompactionLagMs, uncleanableOffset: p.highWatermark }) });
    }
    candidates.sort((a, b) => b.ratio - a.ratio);
    let cleaned = 0;
    for (const { p } of candidates) {
      try {
        const result = await p.log.compact(nowMs, {
          deleteRetentionMs: p.config.deleteRetentionMs,
          minCleanableDirtyRatio: p.config.minCleanableDirtyRatio,
          minCompactionLagMs: p.config.minCompactionLagMs,
          maxCompactionLagMs: p.config.maxCompactionLagMs,
          uncleanableOffset: p.highWatermark,
          offsetMapBytes,
        });
        if (result.cleaned) {
          cleaned++;
          this.#logger.info(
            { topic: p.topic, partition: p.index, bytesBefore: result.bytesBefore, bytesAfter: result.bytesAfter, recordsRemoved: result.recordsRemoved, tombstonesRemoved: result.tombstonesRemoved },
            'compacted partition',
          );
        }
      } catch (err) {
        this.#logger.error({ topic: p.topic, partition: p.index, err }, 'compaction failed for partition; will retry next round');
      }
    }
    return cleaned;
  }

  /** Applies flush.ms to partitions that set it; partitions on the default (never) are left to the OS. */
  async flushDue(): Promise<void> {
    const nowMs = this.#clock.nowMs();
    for (const p of [...this.#partitions.values()]) {
      if (p.config.flushMs >= Number.MAX_SAFE_INTEGER) continue;
      try {
        await p.log.maybeFlush(nowMs);
      } catch (err) {
        this.#logger.error({ topic: p.topic, partition: p.index, err }, 'scheduled flush failed');
      }
    }
  }

  async close(): Promise<void> {
    // Once more on a clean shutdown, so a restart starts from the latest high watermarks.
    await this.#hwCheckpoint.write();
    for (const p of this.#partitions.values()) {
      p.endRole();
      try {
        await p.log.close();
      } catch (err) {
        this.#logger.error({ topic: p.topic, partition: p.index, err }, 'closing partition log failed');
      }
    }
    this.#partitions.clear();
    this.#byTopic.clear();
  }

  async #open(topic: TopicImage, index: number, config: ResolvedTopicConfig): Promise<Partition> {
    assert(index >= 0 && index < MAX_PARTITIONS_PER_TOPIC, 'partition index out of range');
    const dir = joinPath(this.dataDir, partitionDirName(topic.name, index));
    const metadataPath = joinPath(dir, PARTITION_METADATA_FILE);
    if (await this.fs.exists(metadataPath)) {
      const owner = /topic_id: *(\S+)/.exec((await this.fs.readFile(metadataPath)).toString('utf8'))?.[1];
      if (owner !== topic.topicId) {
        this.#logger.warn({ topic: topic.name, partition: index, oldTopicId: owner, topicId: topic.topicId }, 'removing the log of an earlier topic with the same name');
        await this.fs.rmdir(dir);
      }
    }
    const log = await PartitionLog.open({
      fs: this.fs,
      dir,
      config: logConfigFor(config),
      clock: this.#clock,
      logger: this.#logger.child({ topic: topic.name, partition: index }),
      onFailed: (err) => this.#onLogFailed?.(dir, err),
    });
    await writeFileAtomic(this.fs, metadataPath, Buffer.from(`version: 0\ntopic_id: ${topic.topicId}\n`));
    const p = new Partition(topic.name, topic.topicId, index, log, config, this.nodeId);
    const checkpointed = this.#hwCheckpoint.claim(topic.name, index, topic.topicId);
    if (checkpointed !== null) p.restoreHighWatermark(checkpointed);
    p.onHighWatermark = () => this.waiters.notify(p.key);
    this.#partitions.set(partitionKey(topic.name, index), p);
    const list = this.#byTopic.get(topic.name) ?? [];
    list[index] = p;
    this.#byTopic.set(topic.name, list);
    return p;
  }

  async #remove(p: Partition, reason: string): Promise<void> {
    p.endRole();
    const key = partitionKey(p.topic, p.index);
    this.#partitions.delete(key);
    const list = this.#byTopic.get(p.topic);
    if (list !== undefined) {
      delete list[p.index];
      if (list.every((x) => x === undefined)) this.#byTopic.delete(p.topic);
    }
    this.waiters.notify(key);
    await p.log.delete();
    this.#logger.info({ topic: p.topic, partition: p.index, reason }, 'partition log deleted');
  }
}
