/**
 * Owns the partitions this broker hosts: opening their logs at start, creating and deleting them
 * with their topics, config changes, retention, and waking parked fetches on append.
 * The topic registry is changed first and durably; partition logs follow (and are reconciled
 * against the registry at start, so a crash between the two leaves no orphan or missing log).
 */
import { assert, type Clock, type Logger, type Timer } from '@tributary/common';
import { PartitionLog, joinPath, type FileSystem, type LogConfig } from '@tributary/storage';
import { resolveTopicConfig, type ResolvedTopicConfig, type TopicConfigOverrides, type BrokerDefaults } from './config/topic-config.ts';
import { FetchWaiters } from './fetch-waiters.ts';
import { Partition, partitionKey } from './partition.ts';
import type { TopicRecord, TopicRegistry } from './metadata/topic-registry.ts';

export const MAX_PARTITIONS_PER_TOPIC = 10_000;

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
  readonly registry: TopicRegistry;
  readonly brokerDefaults: BrokerDefaults;
  readonly waiters: FetchWaiters;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #partitions = new Map<string, Partition>();
  readonly #byTopic = new Map<string, Partition[]>();

  constructor(opts: { fs: FileSystem; dataDir: string; registry: TopicRegistry; brokerDefaults: BrokerDefaults; clock: Clock; timer: Timer; logger: Logger }) {
    this.fs = opts.fs;
    this.dataDir = opts.dataDir;
    this.registry = opts.registry;
    this.brokerDefaults = opts.brokerDefaults;
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.waiters = new FetchWaiters(opts.timer);
  }

  /** Opens (recovering) every partition log of every registered topic; removes logs of topics that no longer exist. */
  async start(): Promise<void> {
    const known = new Set<string>();
    for (const topic of this.registry.all()) {
      await this.#openTopic(topic, 0);
      for (let i = 0; i < topic.numPartitions; i++) known.add(partitionDirName(topic.name, i));
    }
    for (const name of await this.fs.readdir(this.dataDir)) {
      if (name.startsWith('__tributary') || known.has(name)) continue;
      if (/^.+-\d+(\..*-delete)?$/.test(name)) {
        this.#logger.warn({ dir: name }, 'removing partition directory of a topic that no longer exists');
        await this.fs.rmdir(joinPath(this.dataDir, name));
      }
    }
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.#partitions.get(partitionKey(topic, index));
  }

  partitionsOf(topic: string): Partition[] {
    return this.#byTopic.get(topic) ?? [];
  }

  allPartitions(): IterableIterator<Partition> {
    return this.#partitions.values();
  }

  resolveConfig(overrides: TopicConfigOverrides): ResolvedTopicConfig {
    return resolveTopicConfig(overrides, this.brokerDefaults);
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    assert(topic.numPartitions >= 1 && topic.numPartitions <= MAX_PARTITIONS_PER_TOPIC, 'partition count out of range');
    await this.registry.create(topic);
    await this.#openTopic(topic, 0);
    this.#logger.info({ topic: topic.name, partitions: topic.numPartitions, configs: topic.configs }, 'topic created');
  }

  async addPartitions(name: string, newCount: number): Promise<void> {
    const topic = this.registry.get(name);
    assert(topic && newCount > topic.numPartitions, 'partition count must grow');
    await this.registry.update(name, (t) => ({ ...t, numPartitions: newCount }));
    await this.#openTopic({ ...topic, numPartitions: newCount }, topic.numPartitions);
    this.#logger.info({ topic: name, from: topic.numPartitions, to: newCount }, 'partitions added');
  }

  async deleteTopic(name: string): Promise<void> {
    await this.registry.remove(name);
    const parts = this.#byTopic.get(name) ?? [];
    this.#byTopic.delete(name);
    for (const p of parts) {
      this.#partitions.delete(partitionKey(p.topic, p.index));
      await p.log.delete();
    }
    this.#logger.info({ topic: name, partitions: parts.length }, 'topic deleted');
  }

  async updateTopicConfig(name: string, overrides: TopicConfigOverrides): Promise<void> {
    await this.registry.update(name, (t) => ({ ...t, configs: overrides }));
    const resolved = this.resolveConfig(overrides);
    for (const p of this.partitionsOf(name)) {
      p.config = resolved;
      p.log.updateConfig(logConfigFor(resolved));
    }
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
    for (const p of this.#partitions.values()) {
      try {
        await p.log.close();
      } catch (err) {
        this.#logger.error({ topic: p.topic, partition: p.index, err }, 'closing partition log failed');
      }
    }
    this.#partitions.clear();
    this.#byTopic.clear();
  }

  async #openTopic(topic: TopicRecord, fromIndex: number): Promise<void> {
    const config = this.resolveConfig(topic.configs);
    const list = this.#byTopic.get(topic.name) ?? [];
    for (let i = fromIndex; i < topic.numPartitions; i++) {
      const log = await PartitionLog.open({
        fs: this.fs,
        dir: joinPath(this.dataDir, partitionDirName(topic.name, i)),
        config: logConfigFor(config),
        clock: this.#clock,
        logger: this.#logger.child({ topic: topic.name, partition: i }),
      });
      const p = new Partition(topic.name, i, log, config);
      this.#partitions.set(partitionKey(topic.name, i), p);
      list[i] = p;
    }
    this.#byTopic.set(topic.name, list);
  }
}
