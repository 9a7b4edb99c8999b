/**
 * PartitionLog: one partition's log, a directory of segments (see log-segment.ts) plus `partition.checkpoint`
 * (recovery point + log start offset) and, while closed cleanly, `.clean-shutdown`. Layout in ../README.md.
 *
 * Concurrency: every mutation (append, roll, flush, truncation, retention, deleteRecordsBefore, close, delete, and
 * each swap of a log-cleaner pass) runs on one writer queue, so they complete in call order and never interleave. The
 * cleaner reads and writes its `.cleaned` files outside the queue (log-cleaner.ts). Reads and lookups do not queue:
 * they work on the current segment array (replaced, never mutated in place, when segments are added, removed or
 * swapped) and read only below each segment's published size; a segment deleted under a read stays open until the
 * read releases it, and a read that finds a segment of its snapshot already gone starts over on the new array.
 *
 * Offsets may have gaps once the log is compacted: a read from an offset inside a gap starts at the next batch.
 *
 * Durability: an append is in the page cache when its promise resolves. It is fsynced by `flush()`, by the flush
 * policy (flushMessages / flushMs, checked on append), and when its segment is rolled (like Kafka, a rolled segment
 * is flushed and the recovery point moves to the new segment's base). The recovery point is persisted in the checkpoint
 * after every flush, and recovery re-validates everything at or above it.
 *
 * Replication state (see ../README.md): the leader-epoch cache (`leader-epoch-checkpoint`, leader-epoch-cache.ts) and
 * the idempotent-producer state (`<offset>.snapshot`, producer-state.ts) follow every append (leader and follower
 * path), truncation and log-start move. An epoch entry is written before the batch that needs it, so the file never
 * misses an entry for data on disk (extra entries past the end are cut at open). Producer snapshots are taken at each
 * roll (after the rolled segment was fsynced) and on close; open loads the latest valid one at or below the log end
 * and replays the batches after it. Steps that discard the whole log first remove the epoch file and every snapshot
 * (durably), so a crash in between leaves files that are rebuilt from whatever log survived.
 */
import { assert, type Clock, type Logger } from '@tributary/common';
import { gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_ATTRIBUTES,
  OFF_BASE_SEQUENCE,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  batchSizeAt,
  checkBatch,
  compressionOf,
  findRecordAtOrAfterTimestamp,
  isControlBatch,
  isLogAppendTime,
  readInt64,
  writeInt64,
  type BatchHeader,
} from './batch-format.ts';
import { joinPath, writeFileAtomic, type FileSystem } from './fs/file-system.ts';
import { CLEAN_SHUTDOWN_FILE, writeCheckpoint } from './log-checkpoint.ts';
import { LogCleaner, type CleanerHost, type CleaningStats, type CompactionConfig, type CompactionResult } from './log-cleaner.ts';
import { loadLog } from './log-loader.ts';
import { LogSegment, MAX_SEGMENT_BYTES, type SegmentConfig } from './log-segment.ts';
import {
  LEADER_EPOCH_CHECKPOINT_FILE,
  LeaderEpochCache,
  readLeaderEpochCheckpoint,
  writeLeaderEpochCheckpoint,
  type EpochEndOffset,
  type EpochEntry,
} from './leader-epoch-cache.ts';
import {
  ProducerStateManager,
  TooManyProducersError,
  listSnapshotOffsets,
  readProducerSnapshot,
  snapshotPath,
  writeProducerSnapshot,
  type ProducerBatch,
  type ProducerCheck,
  type ProducerEntry,
} from './producer-state.ts';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  segmentIndexBytes?: number;
  indexIntervalBytes: number;
  /** -1 = forever */
  retentionMs: number;
  /** -1 = unlimited */
  retentionBytes: number;
  /** Number.MAX_SAFE_INTEGER = never force */
  flushMessages: number;
  flushMs: number;
  fileDeleteDelayMs?: number;
  /** producer.id.expiration.ms: a producer id idle this long loses its state (default 1 day). */
  producerIdExpirationMs?: number;
  /** Producer ids tracked per partition at most (default 100_000): memory bound of the idempotence state. */
  maxProducersPerPartition?: number;
}

export const defaultLogConfig: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  fileDeleteDelayMs: 60_000,
  producerIdExpirationMs: 24 * 60 * 60 * 1000,
  maxProducersPerPartition: 100_000,
});

export interface ReadOptions {
  maxBytes: number;
  maxOffset?: number;
  minOneMessage: boolean;
  /** Where the read lands (e.g. a pooled buffer); exactly `size` bytes. Default: a fresh allocation. */
  allocate?: (size: number) => Buffer;
}

export class OffsetOutOfRangeError extends Error {
  override name = 'OffsetOutOfRangeError';
}

/** The log hit an I/O error it could not undo; it refuses further writes until reopened. */
export class LogFailedError extends Error {
  override name = 'LogFailedError';
}

/**
 * A follower append whose first batch does not start at the log end (a gap or an overlap with what the log holds).
 * The fetcher should truncate (overlap: divergence) or refetch from `logEndOffset` (gap).
 */
export class UnexpectedAppendOffsetError extends Error {
  override name = 'UnexpectedAppendOffsetError';
  readonly firstOffset: number;
  readonly logEndOffset: number;
  constructor(message: string, firstOffset: number, logEndOffset: number) {
    super(message);
    this.firstOffset = firstOffset;
    this.logEndOffset = logEndOffset;
  }
}

/** Fetched batches that fail validation (framing, CRC, header, offsets not contiguous); nothing was appended. */
export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
}

/** Producer snapshots kept at most (the newest); older ones only help a truncation far back, which replays instead. */
export const MAX_PRODUCER_SNAPSHOTS = 8;

/** Bound on queued mutations: beyond it `append` rejects instead of growing memory. */
export const MAX_PENDING_WRITES = 10_000;

function validateConfig(config: LogConfig): void {
  assert(Number.isInteger(config.segmentBytes) && config.segmentBytes >= BATCH_HEADER_BYTES && config.segmentBytes <= MAX_SEGMENT_BYTES, `segmentBytes out of range: ${config.segmentBytes}`);
  assert(config.segmentMs > 0, 'segmentMs must be positive');
  assert(config.indexIntervalBytes >= 0, 'indexIntervalBytes must be >= 0');
  assert(config.segmentIndexBytes === undefined || config.segmentIndexBytes >= 12, 'segmentIndexBytes must be >= 12');
  assert(config.retentionMs >= -1 && config.retentionBytes >= -1, 'retention must be >= -1');
  assert(config.flushMessages >= 1 && config.flushMs >= 0, 'flush settings out of range');
  assert(config.producerIdExpirationMs === undefined || config.producerIdExpirationMs >= 0, 'producerIdExpirationMs must be >= 0');
  assert(config.maxProducersPerPartition === undefined || (Number.isInteger(config.maxProducersPerPartition) && config.maxProducersPerPartition >= 1), 'maxProducersPerPartition must be >= 1');
}

export interface AppendResult {
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  positionInSegment: number;
}

export interface ReadResult {
  records: Buffer;
  firstOffset: number;
  nextOffset: number;
}

const EMPTY = Buffer.alloc(0);
/** Reads retry on the new segment array when the log cleaner replaced a segment under them, at most this often. */
const MAX_READ_RETRIES = 16;

/** A read found a segment of its snapshot already deleted (replaced by the cleaner, or removed by retention). */
class SegmentGoneError extends Error {
  override name = 'SegmentGoneError';
}

export class PartitionLog {
  readonly dir: string;
  #fs: FileSystem;
  #config: LogConfig;
  #segmentConfig: SegmentConfig;
  #clock: Clock;
  #logger: Logger;
  /** Sorted by base offset; replaced (never mutated in place) so readers can hold a snapshot. */
  #segments: readonly LogSegment[];
  #logStartOffset: number;
  #recoveryPoint: number;
  /** Recovery point last written to the checkpoint file. */
  #checkpointedRecoveryPoint = -1;
  #unflushedMessages = 0;
  #lastFlushMs: number;
  #dirDirty = false;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #closed = false;
  #closing = false;
  #failed: Error | null = null;
  /** Told once when the log starts refusing writes (see `#markFailed`). */
  #onFailed: ((err: Error) => void) | null = null;
  /** Counts truncations, so a cleaning pass can tell that the log changed under it. */
  #truncations = 0;
  #cleaner!: LogCleaner;
  #epochCache = new LeaderEpochCache();
  /** The cache changed since it was last written (a failed write is retried before the next append). */
  #epochDirty = false;
  #producers: ProducerStateManager;
  /** Offsets of the producer snapshots on disk, ascending. */
  #snapshotOffsets: number[] = [];

  private constructor(fs: FileSystem, dir: string, config: LogConfig, segmentConfig: SegmentConfig, clock: Clock, logger: Logger, segments: LogSegment[], logStartOffset: number) {
    this.#fs = fs;
    this.dir = dir;
    this.#config = { ...config };
    // Shared with the segments so updateConfig reaches them.
    this.#segmentConfig = segmentConfig;
    this.#clock = clock;
    this.#logger = logger;
    this.#segments = segments;
    this.#logStartOffset = logStartOffset;
    this.#recoveryPoint = segments.at(-1)!.nextOffset;
    this.#lastFlushMs = clock.nowMs();
    this.#producers = new ProducerStateManager(config.maxProducersPerPartition ?? defaultLogConfig.maxProducersPerPartition!);
  }

  /** Opens (creating if needed) and recovers the log in `dir`. */
  /**
   * `onFailed` hears (once, asynchronously) that the log broke: a failed fsync, a disk error on append, a failed
   * cleaner swap. The log then refuses writes until reopened; the owner decides what to do (a broker stops).
   */
  static async open(opts: { fs: FileSystem; dir: string; config: LogConfig; clock: Clock; logger: Logger; onFailed?: (err: Error) => void }): Promise<PartitionLog> {
    validateConfig(opts.config);
    const logger = opts.logger.child({ component: 'partition-log', dir: opts.dir });
    const segmentConfig: SegmentConfig = {
      indexIntervalBytes: opts.config.indexIntervalBytes,
      segmentIndexBytes: opts.config.segmentIndexBytes ?? defaultLogConfig.segmentIndexBytes!,
    };
    const loaded = await loadLog(opts.fs, opts.dir, segmentConfig, logger);
    const log = new PartitionLog(opts.fs, opts.dir, opts.config, segmentConfig, opts.clock, logger, loaded.segments, loaded.logStartOffset);
    log.#onFailed = opts.onFailed ?? null;
    log.#cleaner = await LogCleaner.load(log.#cleanerHost());
    // Everything below the log end is now durable (trusted or re-validated + fsynced): persist that, then remove the
    // clean-shutdown marker durably before any write can happen.
    await log.#writeCheckpoint();
    const marker = joinPath(opts.dir, CLEAN_SHUTDOWN_FILE);
    if (await opts.fs.exists(marker)) {
      await opts.fs.unlink(marker);
      await opts.fs.syncDir(opts.dir);
    }
    await log.#loadReplicationState();
    return log;
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }

  get logEndOffset(): number {
    return this.#segments.at(-1)!.nextOffset;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.#segments) total += segment.size;
    return total;
  }

  get flushedOffset(): number {
    return this.#recoveryPoint;
  }

  get numberOfSegments(): number {
    return this.#segments.length;
  }

  /** Base offsets of the segments, oldest first (for tests and tools). */
  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }

  get #active(): LogSegment {
    return this.#segments.at(-1)!;
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#pending >= MAX_PENDING_WRITES) return Promise.reject(new Error(`log ${this.dir}: too many queued writes`));
    this.#pending++;
    const run = async (): Promise<T> => {
      try {
        if (this.#closed) throw new Error(`log ${this.dir} is closed`);
        return await fn();
      } finally {
        this.#pending--;
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  #checkWritable(): void {
    if (this.#failed !== null) throw new LogFailedError(`log ${this.dir} failed earlier: ${this.#failed.message}`);
  }

  /**
   * Leader path: assigns offsets from the log end and stamps `leaderEpoch` into every batch (in place; not covered by
   * the CRC). Updates the indexes, the leader-epoch cache and the producer state. Idempotence checks are the caller's
   * (`checkProducerBatch` before the append); this only refuses a new producer id past `maxProducersPerPartition`.
   */
  append(batches: Buffer, opts: { leaderEpoch: number; nowMs: number }): Promise<AppendResult> {
    return this.#enqueue(() => this.#append(batches, opts.leaderEpoch, opts.nowMs));
  }

  /**
   * Leader path for an idempotent producer's batch: the producer-state check and the append run as one step of the
   * writer queue, so a retried batch racing its own first attempt (pipelined requests) is seen as the duplicate it
   * is. `producer` names the request's producer batch (the broker accepts one per request, as Kafka does).
   * Answers the append, or the duplicate's original offsets (nothing appended), or the check's error.
   */
  appendIdempotent(
    batches: Buffer,
    producer: { producerId: number; producerEpoch: number; firstSeq: number; lastSeq: number },
    opts: { leaderEpoch: number; nowMs: number },
  ): Promise<{ kind: 'appended'; result: AppendResult } | Exclude<ProducerCheck, { kind: 'ok' }>> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      const check = this.#producers.check(producer.producerId, producer.producerEpoch, producer.firstSeq, producer.lastSeq);
      if (check.kind !== 'ok') return check;
      return { kind: 'appended' as const, result: await this.#append(batches, opts.leaderEpoch, opts.nowMs) };
    });
  }

  /**
   * A new leader starts its epoch at the log end (Kafka's `assign(epoch, logEndOffset)` on becoming leader), before
   * any append, so followers' OffsetForLeaderEpoch / divergence checks see the epoch at once. Persisted.
   */
  assignLeaderEpoch(epoch: number): Promise<void> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      if (this.#epochCache.assign(epoch, this.logEndOffset)) {
        this.#epochDirty = true;
        await this.#writeEpochCheckpoint();
      }
    });
  }

  async #append(batches: Buffer, leaderEpoch: number, nowMs: number): Promise<AppendResult> {
    this.#checkWritable();
    assert(batches.length >= BATCH_HEADER_BYTES, 'append: no batch');
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= -1 && leaderEpoch <= 0x7fffffff, 'append: bad leader epoch');
    const firstOffset = this.logEndOffset;
    // One pass: check framing, assign offsets and the leader epoch in place (not covered by the CRC).
    let pos = 0;
    let next = firstOffset;
    let maxTimestamp = -1;
    let offsetOfMaxTimestamp = -1;
    let messages = 0;
    const producerBatches: ProducerBatch[] = [];
    // Bounded: each step advances by >= 61 bytes.
    while (pos < batches.length) {
      assert(batches.length - pos >= BATCH_HEADER_BYTES, 'append: truncated batch header');
      const size = batchSizeAt(batches, pos);
      assert(size > 0 && pos + size <= batches.length, 'append: bad batch length');
      assert(batches.readInt8(pos + OFF_MAGIC) === BATCH_MAGIC, 'append: not a v2 batch');
      const lastOffsetDelta = batches.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
      assert(lastOffsetDelta >= 0, 'append: negative lastOffsetDelta');
      writeInt64(batches, next, pos);
      batches.writeInt32BE(leaderEpoch, pos + OFF_LEADER_EPOCH);
      const lastOffset = next + lastOffsetDelta;
      const batchMaxTimestamp = readInt64(batches, pos + OFF_MAX_TIMESTAMP);
      if (batchMaxTimestamp > maxTimestamp) {
        maxTimestamp = batchMaxTimestamp;
        offsetOfMaxTimestamp = lastOffset;
      }
      const producer = producerBatchAt(batches, pos, next, lastOffsetDelta, batchMaxTimestamp);
      if (producer !== null) producerBatches.push(producer);
      messages += lastOffsetDelta + 1;
      next = lastOffset + 1;
      pos += size;
    }
    this.#checkProducerCapacity(producerBatches, nowMs);
    const epochs: EpochEntry[] = leaderEpoch >= 0 ? [{ epoch: leaderEpoch, startOffset: firstOffset }] : [];
    const written = await this.#appendValidated(batches, firstOffset, next - 1, messages, nowMs, epochs, producerBatches);
    return { firstOffset, lastOffset: next - 1, maxTimestamp, offsetOfMaxTimestamp, positionInSegment: written };
  }

  /**
   * Follower path: appends batches exactly as the leader wrote them (offsets, leader epochs, producer ids and
   * sequences, timestamps and CRCs untouched). Every batch is validated first (framing, magic, CRC-32C, header) and
   * must follow the previous one with no gap or overlap, the first starting at the log end; otherwise nothing is
   * appended and `UnexpectedAppendOffsetError` (the first offset is not the log end) or `CorruptRecordError` is
   * thrown. Updates the indexes, the leader-epoch cache (an entry per newer epoch) and the producer state.
   */
  appendAsFollower(batches: Buffer, opts: { nowMs?: number } = {}): Promise<AppendResult> {
    return this.#enqueue(() => this.#appendAsFollower(batches, opts.nowMs ?? this.#clock.nowMs()));
  }

  async #appendAsFollower(batches: Buffer, nowMs: number): Promise<AppendResult> {
    this.#checkWritable();
    const firstOffset = this.logEndOffset;
    if (batches.length === 0) throw new CorruptRecordError(`follower append to ${this.dir}: no batch to append (log end ${firstOffset})`);
    let pos = 0;
    let expected = firstOffset;
    let maxTimestamp = -1;
    let offsetOfMaxTimestamp = -1;
    let messages = 0;
    const producerBatches: ProducerBatch[] = [];
    const epochs: EpochEntry[] = [];
    // Bounded: each step advances by a validated batch size >= 61 bytes.
    while (pos < batches.length) {
      const check = checkBatch(batches, pos, batches.length);
      if (!check.ok) {
        throw new CorruptRecordError(`follower append to ${this.dir}: the batch at byte ${pos} of the fetched data (expected offset ${expected}) is invalid (${check.reason}); nothing was appended, refetch from ${firstOffset}`);
      }
      const header = check.header;
      // A gap is legal: the leader's log may be compacted (whole batches cleaned away), and its batches keep their
      // offsets. An overlap never is: it would rewrite offsets this log already has.
      if (header.baseOffset < expected) {
        if (pos === 0) {
          throw new UnexpectedAppendOffsetError(
            `follower append to ${this.dir}: the first batch starts at offset ${header.baseOffset} but the log ends at ${firstOffset} (an overlap); nothing was appended: truncate to the diverging offset or fetch from ${firstOffset}`,
            header.baseOffset,
            firstOffset,
          );
        }
        throw new CorruptRecordError(`follower append to ${this.dir}: the batch at byte ${pos} starts at offset ${header.baseOffset}, below ${expected} (batches must not overlap); nothing was appended`);
      }
      if (header.partitionLeaderEpoch < -1 || !Number.isSafeInteger(header.producerId) || header.producerId < -1) {
        throw new CorruptRecordError(`follower append to ${this.dir}: the batch at offset ${header.baseOffset} has a bad leader epoch or producer id; nothing was appended`);
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (header.maxTimestamp > maxTimestamp) {
        maxTimestamp = header.maxTimestamp;
        offsetOfMaxTimestamp = lastOffset;
      }
      if (header.partitionLeaderEpoch >= 0) epochs.push({ epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset });
      if (header.producerId >= 0 && !isControlBatch(header.attributes)) {
        producerBatches.push({
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
          baseOffset: header.baseOffset,
          lastOffsetDelta: header.lastOffsetDelta,
          maxTimestamp: header.maxTimestamp,
        });
      }
      messages += header.lastOffsetDelta + 1;
      expected = lastOffset + 1;
      pos += header.sizeInBytes;
    }
    const written = await this.#appendValidated(batches, firstOffset, expected - 1, messages, nowMs, epochs, producerBatches);
    return { firstOffset, lastOffset: expected - 1, maxTimestamp, offsetOfMaxTimestamp, positionInSegment: written };
  }

  /** The leader refuses a client batch of a new producer id once the partition tracks the maximum (after expiry). */
  #checkProducerCapacity(producerBatches: readonly ProducerBatch[], nowMs: number): void {
    if (producerBatches.length === 0) return;
    const fresh = new Set<number>();
    for (const b of producerBatches) if (!this.#producers.has(b.producerId)) fresh.add(b.producerId);
    if (fresh.size === 0 || this.#producers.size + fresh.size <= this.#producers.maxProducers) return;
    this.#producers.removeExpired(nowMs, this.#expirationMs);
    if (this.#producers.size + fresh.size <= this.#producers.maxProducers) return;
    throw new TooManyProducersError(
      `log ${this.dir} already tracks ${this.#producers.size} producer ids (maxProducersPerPartition ${this.#producers.maxProducers}); nothing was appended: retry once idle producers expire (producerIdExpirationMs ${this.#expirationMs})`,
    );
  }

  get #expirationMs(): number {
    return this.#config.producerIdExpirationMs ?? defaultLogConfig.producerIdExpirationMs!;
  }

  /**
   * The common tail of both append paths, for validated, offset-assigned batches: roll if needed, make the epoch
   * entries durable, write the batches, update the producer state, apply the flush policy. Returns the position.
   */
  async #appendValidated(
    batches: Buffer,
    firstOffset: number,
    lastOffset: number,
    messages: number,
    nowMs: number,
    epochs: readonly EpochEntry[],
    producerBatches: readonly ProducerBatch[],
  ): Promise<number> {
    if (this.#shouldRoll(batches.length, lastOffset, nowMs)) await this.#roll();
    const active = this.#active;
    assert(active.nextOffset === firstOffset, 'append: active segment does not end at the log end');
    for (const e of epochs) if (this.#epochCache.assign(e.epoch, e.startOffset)) this.#epochDirty = true;
    // The entry is on disk before the data it describes: after a crash the file may hold an entry past the log end
    // (cut at open), never miss one for data that survived.
    if (this.#epochDirty) await this.#writeEpochCheckpoint();
    let written: { position: number; lastOffset: number };
    try {
      written = await active.append(batches, nowMs);
    } catch (err) {
      this.#epochCache.truncateFromEnd(this.logEndOffset);
      this.#fail(err);
      throw err;
    }
    assert(written.lastOffset === lastOffset && this.logEndOffset === lastOffset + 1, 'append: log end mismatch');
    for (const b of producerBatches) this.#updateProducer(b);
    this.#unflushedMessages += messages;
    if (this.#unflushedMessages >= this.#config.flushMessages || nowMs - this.#lastFlushMs >= this.#config.flushMs) {
      await this.#flush(nowMs);
    }
    return written.position;
  }

  #updateProducer(batch: ProducerBatch): void {
    const evicted = this.#producers.update(batch);
    if (evicted !== null) {
      this.#logger.warn({ evictedProducerId: evicted, producerId: batch.producerId, maxProducersPerPartition: this.#producers.maxProducers }, 'producer state full: evicted the producer idle the longest');
    }
  }

  async #writeEpochCheckpoint(): Promise<void> {
    await writeLeaderEpochCheckpoint(this.#fs, this.dir, this.#epochCache);
    this.#epochDirty = false;
  }

  #fail(err: unknown): void {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    // Out of space leaves the file as it was (the segment cut the partial write); anything else is a broken disk.
    if (code !== 'ENOSPC') this.#markFailed(err);
    this.#logger.error({ err: String(err), code }, 'append failed');
  }

  /** From now on the log refuses writes until reopened; the owner hears it once. */
  #markFailed(err: unknown): void {
    if (this.#failed !== null) return;
    const failure = err instanceof Error ? err : new Error(String(err));
    this.#failed = failure;
    const onFailed = this.#onFailed;
    if (onFailed !== null) queueMicrotask(() => onFailed(failure));
  }

  #shouldRoll(bytes: number, lastOffset: number, nowMs: number): boolean {
    const active = this.#active;
    if (active.isEmpty) return false;
    return (
      active.size + bytes > this.#config.segmentBytes ||
      (active.rollBaseMs !== null && nowMs - active.rollBaseMs > this.#config.segmentMs) ||
      active.indexesFullFor(lastOffset) ||
      active.size + bytes > MAX_SEGMENT_BYTES
    );
  }

  /** Starts a new segment at the log end; the old one gets its final time-index entry and is flushed. */
  async #roll(): Promise<void> {
    const old = this.#active;
    assert(!old.isEmpty, 'roll of an empty segment');
    old.onRolled();
    const segment = await LogSegment.create(this.#fs, this.dir, old.nextOffset, this.#segmentConfig);
    this.#segments = [...this.#segments, segment];
    this.#dirDirty = true;
    this.#logger.debug({ baseOffset: segment.baseOffset }, 'rolled segment');
    // Like Kafka: a rolled segment is flushed so recovery after a crash only has to look at the active one.
    await old.flush();
    await this.#fs.syncDir(this.dir);
    this.#dirDirty = false;
    // Everything below the new segment is durable now, so a snapshot of the state at its base is safe to trust.
    await this.#takeProducerSnapshot(segment.baseOffset);
    if (segment.baseOffset > this.#recoveryPoint) {
      this.#recoveryPoint = segment.baseOffset;
      await this.#writeCheckpoint();
    }
  }

  async #writeCheckpoint(): Promise<void> {
    await writeCheckpoint(this.#fs, this.dir, { recoveryPoint: this.#recoveryPoint, logStartOffset: this.#logStartOffset });
    this.#checkpointedRecoveryPoint = this.#recoveryPoint;
    this.#dirDirty = false;
  }

  /**
   * Reads whole batches starting with the one containing `offset`, up to `maxBytes` (at least one batch if
   * `minOneMessage`), stopping before any batch with offsets >= `maxOffset`. One positional read per segment touched
   * into a single buffer; the result is a view of it.
   */
  async read(offset: number, opts: ReadOptions): Promise<ReadResult> {
    // Bounded: a retry happens only when the segment array changed under the read (cleaner swap, retention).
    for (let attempt = 0; ; attempt++) {
      const segments = this.#segments;
      try {
        return await this.#read(segments, offset, opts);
      } catch (err) {
        if (!(err instanceof SegmentGoneError)) throw err;
        if (attempt >= MAX_READ_RETRIES || this.#segments === segments) throw new OffsetOutOfRangeError(err.message);
      }
    }
  }

  async #read(segments: readonly LogSegment[], offset: number, opts: ReadOptions): Promise<ReadResult> {
    const logEnd = segments.at(-1)!.nextOffset;
    if (!Number.isSafeInteger(offset) || offset < this.#logStartOffset || offset > logEnd) {
      throw new OffsetOutOfRangeError(`offset ${offset} outside [${this.#logStartOffset}, ${logEnd}] of ${this.dir}`);
    }
    assert(opts.maxBytes >= 0, 'read: maxBytes must be >= 0');
    const maxBytes = Math.floor(opts.maxBytes);
    const limit = Math.min(opts.maxOffset ?? logEnd, logEnd);
    const empty = { records: EMPTY, firstOffset: offset, nextOffset: offset };
    if (offset >= limit) return empty;

    let i = floorIndex(segments, offset);
    // Skip segments that end at or before the offset (e.g. an offset equal to a segment's end).
    while (i < segments.length && segments[i]!.nextOffset <= offset) i++;
    if (i >= segments.length) return empty;

    const first = segments[i]!;
    const lookup = first.offsetIndex.lookup(offset);
    const firstSize = first.size;
    const gapEnd = lookup.nextPosition < 0 ? firstSize : Math.min(lookup.nextPosition, firstSize);
    // Everything readable from the start position on, bounded by what the reply may hold.
    // Room for at least one header so minOneMessage can learn the first batch's size from this read.
    const wanted = gapEnd - lookup.position + Math.max(maxBytes, BATCH_HEADER_BYTES);
    let available = firstSize - lookup.position;
    for (let j = i + 1; j < segments.length && available < wanted; j++) available += segments[j]!.size;
    const capacity = Math.min(available, wanted);
    if (capacity <= 0) return empty;
    const out = opts.allocate ? opts.allocate(capacity) : Buffer.allocUnsafe(capacity);
    assert(out.length === capacity, 'read: allocate returned a buffer of the wrong size');

    let keptStart = -1; // in `out`
    let keptEnd = 0;
    let firstOffset = -1;
    let nextOffset = offset;
    let writeAt = 0;
    let done = false;
    for (let j = i; j < segments.length && !done; j++) {
      const segment = segments[j]!;
      const startPosition = j === i ? lookup.position : 0;
      const segmentSize = j === i ? firstSize : segment.size;
      const length = Math.min(segmentSize - startPosition, capacity - writeAt);
      if (length <= 0) {
        if (segmentSize - startPosition <= 0) continue;
        break;
      }
      if (!segment.acquire()) throw new SegmentGoneError(`segment ${segment.baseOffset} of ${this.dir} was deleted during the read`);
      let n: number;
      try {
        n = await segment.read(out, writeAt, length, startPosition);
      } finally {
        segment.release();
      }
      const regionEnd = writeAt + n;
      let p = writeAt;
      // Bounded: each step advances by >= 61 bytes or stops.
      while (p < regionEnd) {
        if (regionEnd - p < BATCH_HEADER_BYTES) {
          done = true;
          break;
        }
        // Header fields read in place (no per-batch object: fetches of small batches touch thousands).
        const size = batchSizeAt(out, p);
        const baseOffset = out.readInt32BE(p) * 0x1_0000_0000 + out.readUInt32BE(p + 4);
        const lastOffsetDelta = out.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
        if (size < 0 || out.readInt8(p + OFF_MAGIC) !== BATCH_MAGIC || !Number.isSafeInteger(baseOffset) || baseOffset < 0 || lastOffsetDelta < 0) {
          throw new Error(`corrupt batch in ${segment.logPath} at position ${startPosition + (p - writeAt)}`);
        }
        // The index promised a batch starting at or before `offset` at the position it gave (a compacted log may have
        // a gap after that batch, so only the batch at that position is checked).
        if (j === i && startPosition > 0 && p === writeAt && baseOffset > offset) {
          throw new Error(`corrupt offset index in ${segment.offsetIndex.path}: position ${startPosition} is past offset ${offset}`);
        }
        const batchLast = baseOffset + lastOffsetDelta;
        if (batchLast < offset) {
          p += size;
          continue; // before the wanted batch (index lands up to one interval early)
        }
        if (batchLast >= limit) {
          done = true;
          break;
        }
        const isFirst = keptStart < 0;
        const start = isFirst ? p : keptStart;
        if (p + size > regionEnd || p + size - start > maxBytes) {
          if (isFirst && opts.minOneMessage) return this.#readOneBatch(segment, startPosition + (p - writeAt), size, baseOffset, batchLast);
          done = true;
          break;
        }
        if (isFirst) {
          keptStart = p;
          firstOffset = baseOffset;
        }
        keptEnd = p + size;
        nextOffset = batchLast + 1;
        p += size;
      }
      if (!done && regionEnd - writeAt < segmentSize - startPosition) done = true; // capacity reached mid-segment
      if (keptStart < 0) writeAt = 0; // nothing kept yet: reuse the buffer from its start
      else writeAt = keptEnd;
    }
    if (keptStart < 0) return empty;
    assert(nextOffset > firstOffset && keptEnd > keptStart, 'read: empty kept range');
    return { records: out.subarray(keptStart, keptEnd), firstOffset, nextOffset };
  }

  /** minOneMessage with a first batch larger than the budget: read exactly that batch. */
  async #readOneBatch(segment: LogSegment, position: number, size: number, baseOffset: number, lastOffset: number): Promise<ReadResult> {
    const buf = Buffer.allocUnsafe(size);
    if (!segment.acquire()) throw new SegmentGoneError(`segment ${segment.baseOffset} was deleted during the read`);
    let n: number;
    try {
      n = await segment.read(buf, 0, size, position);
    } finally {
      segment.release();
    }
    if (n < size) return { records: EMPTY, firstOffset: baseOffset, nextOffset: baseOffset };
    return { records: buf, firstOffset: baseOffset, nextOffset: lastOffset + 1 };
  }

  /** First record with timestamp >= `timestampMs` (ListOffsets semantics), or null if every record is older. */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    // Bounded: a retry happens only when the segment array changed under the lookup (cleaner swap, retention).
    for (let attempt = 0; ; attempt++) {
      const segments = this.#segments;
      try {
        return await this.#offsetForTimestamp(segments, timestampMs);
      } catch (err) {
        if (!(err instanceof SegmentGoneError) || attempt >= MAX_READ_RETRIES || this.#segments === segments) throw err;
      }
    }
  }

  async #offsetForTimestamp(segments: readonly LogSegment[], timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const segment of segments) {
      if (segment.isEmpty || segment.maxTimestamp < timestampMs) continue;
      if (segment.nextOffset <= this.#logStartOffset) continue;
      const fromOffset = Math.max(segment.timeIndex.lookup(timestampMs), this.#logStartOffset);
      const startPosition = segment.offsetIndex.lookup(fromOffset).position;
      if (!segment.acquire()) {
        // Removed by retention (then skipping it is right) or replaced by the cleaner (then look again).
        if (this.#segments !== segments) throw new SegmentGoneError(`segment ${segment.baseOffset} was replaced`);
        continue;
      }
      let found: { offset: number; timestamp: number } | null = null;
      try {
        await segment.scan(startPosition, segment.size, false, (header, _position, chunk, chunkPos) => {
          const batchLast = header.baseOffset + header.lastOffsetDelta;
          if (batchLast < this.#logStartOffset || header.maxTimestamp < timestampMs) return true;
          found = this.#recordAtOrAfter(header, chunk.subarray(chunkPos, chunkPos + header.sizeInBytes), timestampMs);
          return found === null;
        });
      } finally {
        segment.release();
      }
      if (found !== null) return found;
    }
    return null;
  }

  #recordAtOrAfter(header: BatchHeader, batch: Buffer, timestampMs: number): { offset: number; timestamp: number } | null {
    const atLeast = (offset: number): number => Math.max(offset, this.#logStartOffset);
    if (isLogAppendTime(header.attributes)) return { offset: atLeast(header.baseOffset), timestamp: header.maxTimestamp };
    let records: Buffer | null = batch.subarray(BATCH_HEADER_BYTES);
    try {
      switch (compressionOf(header.attributes)) {
        case 0:
          break;
        case 1:
          records = gunzipSync(records);
          break;
        case 4: {
          const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
          records = zstd === undefined ? null : zstd(records);
          break;
        }
        default:
          records = null; // snappy/lz4: no decoder here; answer at batch granularity
      }
    } catch {
      records = null;
    }
    if (records !== null) {
      const minDelta = Math.max(0, this.#logStartOffset - header.baseOffset);
      const found = findRecordAtOrAfterTimestamp(records, header.baseTimestamp, header.recordsCount, timestampMs, minDelta);
      if (found !== null) {
        return { offset: header.baseOffset + found.offsetDelta, timestamp: found.timestamp };
      }
      // No such record here (an empty batch the cleaner kept, or every match below the log start): keep looking.
      return null;
    }
    return { offset: atLeast(header.baseOffset), timestamp: header.maxTimestamp };
  }

  /** Largest timestamp in the log and the last offset of the batch carrying it (batch granularity). */
  maxTimestampAndOffset(): { timestamp: number; offset: number } | null {
    let best: { timestamp: number; offset: number } | null = null;
    for (const segment of this.#segments) {
      if (segment.isEmpty || segment.maxTimestamp < 0) continue;
      if (best === null || segment.maxTimestamp > best.timestamp) best = { timestamp: segment.maxTimestamp, offset: segment.offsetOfMaxTimestamp };
    }
    return best;
  }

  /** Raises the log start offset (checkpointed before files go) and deletes whole segments below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      if (!Number.isSafeInteger(offset) || offset > this.logEndOffset || offset < 0) {
        throw new OffsetOutOfRangeError(`deleteRecordsBefore ${offset} past log end ${this.logEndOffset}`);
      }
      if (offset <= this.#logStartOffset) return this.#logStartOffset;
      this.#logStartOffset = offset;
      await this.#writeCheckpoint();
      await this.#onLogStartMoved();
      let count = 0;
      const segments = this.#segments;
      while (count + 1 < segments.length && segments[count + 1]!.baseOffset <= offset) count++;
      await this.#deleteOldest(count, 'log start offset');
      return this.#logStartOffset;
    });
  }

  /** Deletes the `count` oldest segments (never the active one). */
  async #deleteOldest(count: number, reason: string): Promise<void> {
    if (count === 0) return;
    assert(count < this.#segments.length, 'would delete the active segment');
    const doomed = this.#segments.slice(0, count);
    this.#segments = this.#segments.slice(count);
    const newStart = this.#segments[0]!.baseOffset;
    if (newStart > this.#logStartOffset) {
      this.#logStartOffset = newStart;
      await this.#writeCheckpoint();
    }
    await this.#onLogStartMoved();
    for (const segment of doomed) await segment.delete();
    // Snapshots below the first segment describe data that is gone; the one at its base (if any) stays.
    while (this.#snapshotOffsets.length > 0 && this.#snapshotOffsets[0]! < newStart) {
      await this.#fs.unlink(snapshotPath(this.dir, this.#snapshotOffsets.shift()!));
    }
    await this.#fs.syncDir(this.dir);
    this.#logger.info({ reason, deletedSegments: count, logStartOffset: this.#logStartOffset }, 'deleted segments');
  }

  enforceRetention(nowMs: number): Promise<{ deletedSegments: number }> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      let deleted = 0;
      const { retentionMs, retentionBytes } = this.#config;
      if (retentionMs >= 0) {
        const cutoff = nowMs - retentionMs;
        const segments = this.#segments;
        let expired = 0;
        while (expired < segments.length && segments[expired]!.maxTimestamp < cutoff && !(expired === segments.length - 1 && segments[expired]!.isEmpty)) expired++;
        if (expired === segments.length) {
          // Everything expired, the active segment too: roll so it can go (Kafka does the same).
          await this.#roll();
        }
        await this.#deleteOldest(expired, 'retention.ms');
        deleted += expired;
      }
      if (retentionBytes >= 0) {
        let excess = this.sizeInBytes - retentionBytes;
        const segments = this.#segments;
        let count = 0;
        while (count < segments.length - 1 && excess - segments[count]!.size >= 0) {
          excess -= segments[count]!.size;
          count++;
        }
        await this.#deleteOldest(count, 'retention.bytes');
        deleted += count;
      }
      return { deletedSegments: deleted };
    });
  }

  /** Drops everything at and above `offset` (cut at the batch containing it). */
  truncateTo(offset: number): Promise<void> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      assert(Number.isSafeInteger(offset) && offset >= 0, `truncateTo: bad offset ${offset}`);
      if (offset >= this.logEndOffset) return;
      this.#truncations++;
      const segments = this.#segments;
      let restarted = false;
      if (offset < this.#logStartOffset || offset <= segments[0]!.baseOffset) {
        // Nothing survives: start over, empty, at `offset`.
        await this.#discardReplicationState();
        restarted = true;
        for (const segment of segments) await segment.delete();
        this.#segments = [await LogSegment.create(this.#fs, this.dir, offset, this.#segmentConfig)];
        this.#logStartOffset = offset;
        this.#dirDirty = true;
      } else {
        // Snapshots past the cut describe batches about to go; they must be gone (durably) before new data lands there.
        await this.#deleteSnapshotsAbove(offset);
        let keep = segments.length;
        while (keep > 1 && segments[keep - 1]!.baseOffset >= offset) keep--;
        const doomed = segments.slice(keep);
        this.#segments = segments.slice(0, keep);
        for (const segment of doomed) await segment.delete();
        // The deletions must be durable before the kept segment is cut: a crash in between would otherwise bring the
        // later segments back after a shortened one, their (truncated-away) batches reappearing past a gap.
        if (doomed.length > 0) await this.#fs.syncDir(this.dir);
        const cut = await this.#active.truncateTo(offset);
        if (this.logEndOffset < this.#logStartOffset) {
          // Cut mid-batch below the log start: nothing readable is left, so restart empty at `offset`.
          await this.#discardReplicationState();
          restarted = true;
          for (const segment of this.#segments) await segment.delete();
          this.#segments = [await LogSegment.create(this.#fs, this.dir, offset, this.#segmentConfig)];
          this.#logStartOffset = offset;
          this.#dirDirty = true;
        } else if (cut.endsInGap) {
          // The end fell in a gap the log cleaner left: a new segment starting there records it on disk (the loader
          // derives the end from the last segment), so offsets the cleaner emptied are not handed out again.
          const old = this.#active;
          old.onRolled();
          await old.flush();
          this.#segments = [...this.#segments, await LogSegment.create(this.#fs, this.dir, this.logEndOffset, this.#segmentConfig)];
          this.#dirDirty = true;
        }
      }
      this.#recoveryPoint = Math.min(this.#recoveryPoint, this.logEndOffset);
      this.#unflushedMessages = 0;
      await this.#active.flush();
      await this.#writeCheckpoint();
      await this.#cleaner.onTruncated(this.logEndOffset);
      if (!restarted) {
        if (this.#epochCache.truncateFromEnd(this.logEndOffset)) this.#epochDirty = true;
        if (this.#epochDirty) await this.#writeEpochCheckpoint();
        // Rebuilt from the latest snapshot at or below the new end plus the batches after it.
        await this.#loadProducerState(false);
      }
      this.#logger.info({ offset, logEndOffset: this.logEndOffset }, 'truncated');
    });
  }

  /**
   * Discards the whole log and restarts it empty at `offset` (log start = log end = `offset`): a follower whose log
   * diverges entirely from the leader's, or lies below the leader's log start. The epoch cache, the producer state and
   * every snapshot go too.
   */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.#enqueue(async () => {
      this.#checkWritable();
      assert(Number.isSafeInteger(offset) && offset >= 0, `truncateFullyAndStartAt: bad offset ${offset}`);
      this.#truncations++;
      await this.#discardReplicationState();
      for (const segment of this.#segments) await segment.delete();
      // Old segments must not come back next to the new one (their offsets may lie above `offset`).
      await this.#fs.syncDir(this.dir);
      this.#segments = [await LogSegment.create(this.#fs, this.dir, offset, this.#segmentConfig)];
      this.#logStartOffset = offset;
      this.#recoveryPoint = offset;
      this.#unflushedMessages = 0;
      this.#dirDirty = true;
      await this.#active.flush();
      // Also makes the deletions and the new segment durable (the checkpoint write fsyncs the directory).
      await this.#writeCheckpoint();
      await this.#cleaner.onTruncated(offset);
      this.#logger.info({ offset }, 'truncated fully');
    });
  }

  /**
   * One log-compaction pass (see log-cleaner.ts) if the log is dirty enough (or max.compaction.lag.ms / a delete
   * horizon forces one). Reading and writing the cleaned segments happen outside the writer queue; each group's swap
   * and the checkpoint write are writer-queue tasks, so appends, reads and other mutations go on meanwhile. One pass at
   * a time per log (a second call answers `skipped: 'in-progress'`). `cleanup.policy=compact,delete` also calls
   * `enforceRetention`.
   */
  async compact(nowMs: number, config: CompactionConfig): Promise<CompactionResult> {
    if (this.#closing || this.#closed) throw new Error(`log ${this.dir} is closed`);
    this.#checkWritable();
    return this.#cleaner.compact(nowMs, config);
  }

  /** The dirty ratio a pass would see now (the broker cleans the dirtiest log first). */
  cleanableDirtyRatio(nowMs: number = this.#clock.nowMs(), config: Partial<Pick<CompactionConfig, 'minCompactionLagMs' | 'uncleanableOffset'>> = {}): number {
    return this.cleaningStats(nowMs, { minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, ...config }).dirtyRatio;
  }

  /** Dirty/clean bytes, ratio, max-compaction-lag delay and whether a delete horizon is due. */
  cleaningStats(nowMs: number, config: Pick<CompactionConfig, 'minCompactionLagMs' | 'maxCompactionLagMs' | 'uncleanableOffset'>): CleaningStats {
    return this.#cleaner.stats(nowMs, config);
  }

  /** Offset below which every key appears once (the log cleaner's checkpoint). */
  get cleanerCheckpoint(): number {
    return this.#cleaner.checkpoint.cleanedOffset;
  }

  #cleanerHost(): CleanerHost {
    return {
      dir: this.dir,
      fs: this.#fs,
      segmentConfig: this.#segmentConfig,
      logger: this.#logger,
      segments: () => this.#segments,
      logStartOffset: () => this.#logStartOffset,
      segmentBytes: () => this.#config.segmentBytes,
      truncations: () => this.#truncations,
      exclusive: (fn) =>
        this.#enqueue(async () => {
          this.#checkWritable();
          return fn();
        }),
      replaceSegments: (index, count, segment) => {
        const segments = this.#segments;
        assert(index >= 0 && index + count < segments.length, 'replaceSegments: range must be closed segments');
        this.#segments = [...segments.slice(0, index), segment, ...segments.slice(index + count)];
      },
      fail: (err) => {
        this.#markFailed(err);
        this.#logger.error({ err: String(err) }, 'log cleaner swap failed; log refuses writes until reopened');
      },
    };
  }

  /** Latest leader epoch in the epoch cache, or -1. */
  get latestEpoch(): number {
    return this.#epochCache.latestEpoch;
  }

  /** The epoch cache's (epoch, startOffset) entries, oldest first. */
  leaderEpochEntries(): EpochEntry[] {
    return this.#epochCache.entries.map((e) => ({ ...e }));
  }

  /** OffsetsForLeaderEpoch for this log (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.#epochCache.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * The leader's idempotence check for a client batch, against the state of every batch appended so far (pure: call
   * it right before `append`, with no other append for the partition in between). `lastSeq` wraps like the batch's
   * (`lastSequenceOf(baseSequence, lastOffsetDelta)`).
   */
  checkProducerBatch(producerId: number, producerEpoch: number, firstSeq: number, lastSeq: number): ProducerCheck {
    return this.#producers.check(producerId, producerEpoch, firstSeq, lastSeq);
  }

  /** One producer's state (a copy), or undefined. */
  producerEntry(producerId: number): ProducerEntry | undefined {
    const e = this.#producers.entry(producerId);
    return e === undefined ? undefined : { ...e, batches: e.batches.map((b) => ({ ...b })) };
  }

  /** Every producer's state, by producer id (copies). */
  producerEntries(): ProducerEntry[] {
    return this.#producers.entries();
  }

  /** Offsets of the producer snapshots on disk, ascending (for tests and tools). */
  producerSnapshotOffsets(): number[] {
    return [...this.#snapshotOffsets];
  }

  /** Drops producers idle for producerIdExpirationMs (the broker calls this periodically); returns how many went. */
  removeExpiredProducers(nowMs: number): Promise<number> {
    return this.#enqueue(async () => this.#producers.removeExpired(nowMs, this.#expirationMs));
  }

  async #onLogStartMoved(): Promise<void> {
    if (this.#epochCache.truncateFromStart(this.#logStartOffset)) this.#epochDirty = true;
    if (this.#epochDirty) await this.#writeEpochCheckpoint();
  }

  /**
   * Before the whole log is discarded: the epoch file and every snapshot go first, durably, so a crash before the new
   * empty log is durable leaves the old log with files rebuilt from it at open (never the old files on a new log).
   */
  async #discardReplicationState(): Promise<void> {
    const epochFile = joinPath(this.dir, LEADER_EPOCH_CHECKPOINT_FILE);
    if (await this.#fs.exists(epochFile)) await this.#fs.unlink(epochFile);
    for (const offset of this.#snapshotOffsets) await this.#fs.unlink(snapshotPath(this.dir, offset));
    await this.#fs.syncDir(this.dir);
    this.#snapshotOffsets = [];
    this.#epochCache.clear();
    this.#epochDirty = false;
    this.#producers.clear();
  }

  async #deleteSnapshotsAbove(offset: number): Promise<void> {
    const doomed = this.#snapshotOffsets.filter((o) => o > offset);
    if (doomed.length === 0) return;
    for (const o of doomed) await this.#fs.unlink(snapshotPath(this.dir, o));
    await this.#fs.syncDir(this.dir);
    this.#snapshotOffsets = this.#snapshotOffsets.filter((o) => o <= offset);
  }

  /** Writes the producer state as of `offset` (everything below it applied), keeping the newest few snapshots. */
  async #takeProducerSnapshot(offset: number): Promise<void> {
    await writeProducerSnapshot(this.#fs, this.dir, offset, this.#producers);
    if (!this.#snapshotOffsets.includes(offset)) this.#snapshotOffsets = [...this.#snapshotOffsets, offset].sort((a, b) => a - b);
    // Bounded; an older snapshot resurrected by a crash is still right for its offset (truncation deletes durably).
    while (this.#snapshotOffsets.length > MAX_PRODUCER_SNAPSHOTS) await this.#fs.unlink(snapshotPath(this.dir, this.#snapshotOffsets.shift()!));
  }

  /**
   * At open: the epoch cache from its file (cut to the log's range) or, when missing or corrupt, rebuilt from every
   * batch; the producer state from the latest valid snapshot at or below the log end plus the batches after it.
   */
  async #loadReplicationState(): Promise<void> {
    const entries = await readLeaderEpochCheckpoint(this.#fs, this.dir);
    const rebuildEpochs = entries === null;
    this.#epochCache = new LeaderEpochCache(entries ?? []);
    // Snapshots past the log end are from data a crash or truncation removed: they must not describe new data later.
    this.#snapshotOffsets = await listSnapshotOffsets(this.#fs, this.dir);
    await this.#deleteSnapshotsAbove(this.logEndOffset);
    await this.#loadProducerState(rebuildEpochs);
    const cut = this.#epochCache.truncateFromEnd(this.logEndOffset);
    const clipped = this.#epochCache.truncateFromStart(this.#logStartOffset);
    if (rebuildEpochs || cut || clipped) await this.#writeEpochCheckpoint();
    const expired = this.#producers.removeExpired(this.#clock.nowMs(), this.#expirationMs);
    this.#logger.info(
      { epochEntries: this.#epochCache.entries.length, epochCacheRebuilt: rebuildEpochs, producers: this.#producers.size, producersExpired: expired, snapshots: this.#snapshotOffsets.length },
      'replication state loaded',
    );
  }

  /**
   * Producer state = latest valid snapshot at or below the log end (torn or corrupt ones are deleted and older ones
   * tried) + replay of the batches from its offset; no snapshot: replay of every batch in the log. With
   * `rebuildEpochs` the same scan starts at the first batch and assigns every batch's leader epoch.
   */
  async #loadProducerState(rebuildEpochs: boolean): Promise<void> {
    const end = this.logEndOffset;
    let snapshot: { offset: number; entries: ProducerEntry[] } | null = null;
    // Bounded by the number of snapshots (at most MAX_PRODUCER_SNAPSHOTS + the ones found at open).
    while (snapshot === null && this.#snapshotOffsets.length > 0) {
      const offset = this.#snapshotOffsets.at(-1)!;
      assert(offset <= end, 'a producer snapshot past the log end survived');
      const entries = await readProducerSnapshot(this.#fs, this.dir, offset);
      if (entries !== null) {
        snapshot = { offset, entries };
        break;
      }
      this.#logger.warn({ offset }, 'producer snapshot unreadable or corrupt; deleted, trying an older one');
      await this.#fs.unlink(snapshotPath(this.dir, offset));
      this.#snapshotOffsets = this.#snapshotOffsets.slice(0, -1);
    }
    if (snapshot === null) this.#producers.clear();
    else this.#producers.load(snapshot.entries);
    const firstBase = this.#segments[0]!.baseOffset;
    const replayFrom = snapshot?.offset ?? firstBase;
    const scanFrom = rebuildEpochs ? firstBase : replayFrom;
    if (scanFrom >= end) return;
    let replayed = 0;
    await this.#scanBatches(scanFrom, (header) => {
      if (rebuildEpochs && header.partitionLeaderEpoch >= 0) this.#epochCache.assign(header.partitionLeaderEpoch, header.baseOffset);
      if (header.baseOffset >= replayFrom && header.producerId >= 0 && !isControlBatch(header.attributes)) {
        this.#updateProducer({
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
          baseOffset: header.baseOffset,
          lastOffsetDelta: header.lastOffsetDelta,
          maxTimestamp: header.maxTimestamp,
        });
        replayed++;
      }
    });
    this.#logger.debug({ snapshotOffset: snapshot?.offset ?? null, replayFrom, replayedProducerBatches: replayed }, 'producer state replayed');
  }

  /** Visits the header of every batch in the log that ends at or after `fromOffset`, in offset order. */
  async #scanBatches(fromOffset: number, visit: (header: BatchHeader) => void): Promise<void> {
    for (const segment of this.#segments) {
      if (segment.isEmpty || segment.nextOffset <= fromOffset) continue;
      const start = segment.offsetIndex.lookup(fromOffset).position;
      const result = await segment.scan(start, segment.size, false, (header) => {
        if (header.baseOffset + header.lastOffsetDelta >= fromOffset) visit(header);
      });
      if (result.stop !== null) {
        // Bit rot in a trusted segment (recovery only re-validates above the recovery point): reads will report it;
        // the replication state just misses that segment's remaining batches rather than failing the open.
        this.#logger.warn({ segment: segment.logPath, position: result.validEnd, stop: result.stop }, 'corrupt batch skipped while rebuilding replication state');
      }
    }
  }

  updateConfig(config: LogConfig): void {
    validateConfig(config);
    this.#config = { ...config };
    this.#segmentConfig.indexIntervalBytes = config.indexIntervalBytes;
    // Applies to segments created from now on (existing indexes keep their capacity).
    this.#segmentConfig.segmentIndexBytes = config.segmentIndexBytes ?? defaultLogConfig.segmentIndexBytes!;
  }

  /** fsyncs segments and indexes up to the log end and persists the recovery point. */
  flush(): Promise<void> {
    return this.#enqueue(() => this.#flush(this.#clock.nowMs()));
  }

  /** Runs the flushMs policy without an append (for a periodic caller). */
  maybeFlush(nowMs: number): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#unflushedMessages > 0 && nowMs - this.#lastFlushMs >= this.#config.flushMs) await this.#flush(nowMs);
    });
  }

  async #flush(nowMs: number, activeIndexes = false): Promise<void> {
    this.#checkWritable();
    try {
      await this.#flushUnchecked(nowMs, activeIndexes);
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing written since the recovery point can
      // be trusted, so stop writing (Kafka takes the log dir offline). Reopen to recover.
      this.#markFailed(err);
      this.#logger.error({ err: String(err) }, 'flush failed; log refuses writes until reopened');
      throw err;
    }
  }

  async #flushUnchecked(nowMs: number, activeIndexes: boolean): Promise<void> {
    const end = this.logEndOffset;
    const active = this.#active;
    for (const segment of this.#segments) {
      if (segment.nextOffset <= this.#recoveryPoint && !segment.hasUnflushedData && segment !== active) continue;
      // The active segment is always re-validated (and its indexes rebuilt) after an unclean stop.
      await segment.flush(segment !== active || activeIndexes);
    }
    if (this.#dirDirty) {
      await this.#fs.syncDir(this.dir);
      this.#dirDirty = false;
    }
    this.#unflushedMessages = 0;
    this.#lastFlushMs = nowMs;
    this.#recoveryPoint = end;
    // Recovery always re-validates the whole active segment, so the checkpoint only needs to reach the active
    // segment's base: with flushMessages=1 a flush costs one fsync, not four.
    if (this.#checkpointedRecoveryPoint < this.#active.baseOffset) await this.#writeCheckpoint();
  }

  /** Flushes everything, writes the clean-shutdown marker and closes the files. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#cleaner.abort();
    return this.#enqueue(async () => {
      if (this.#failed === null) {
        this.#active.onRolled();
        await this.#flush(this.#clock.nowMs(), true);
        // A clean open then replays nothing.
        await this.#takeProducerSnapshot(this.logEndOffset);
        if (this.#epochDirty) await this.#writeEpochCheckpoint();
        await this.#writeCheckpoint();
        await writeFileAtomic(this.#fs, joinPath(this.dir, CLEAN_SHUTDOWN_FILE), EMPTY);
      }
      for (const segment of this.#segments) await segment.close();
      this.#closed = true;
    });
  }

  /** Closes the files and removes the whole directory. */
  async delete(): Promise<void> {
    this.#closing = true;
    await this.#cleaner.abort();
    return this.#enqueue(async () => {
      for (const segment of this.#segments) await segment.close();
      this.#closed = true;
      await this.#fs.rmdir(this.dir);
    });
  }
}

/** The producer fields of the (offset-assigned) batch at `pos`, or null without a producer id or for a control batch. */
function producerBatchAt(buf: Buffer, pos: number, baseOffset: number, lastOffsetDelta: number, maxTimestamp: number): ProducerBatch | null {
  // Fast path: no idempotence (-1 as int64).
  if (buf.readInt32BE(pos + OFF_PRODUCER_ID) === -1 && buf.readUInt32BE(pos + OFF_PRODUCER_ID + 4) === 0xffffffff) return null;
  if (isControlBatch(buf.readInt16BE(pos + OFF_ATTRIBUTES))) return null;
  const producerId = readInt64(buf, pos + OFF_PRODUCER_ID);
  assert(producerId >= 0, () => `append: bad producer id ${producerId}`);
  return {
    producerId,
    producerEpoch: buf.readInt16BE(pos + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFF_BASE_SEQUENCE),
    baseOffset,
    lastOffsetDelta,
    maxTimestamp,
  };
}

/** Index of the last segment with baseOffset <= offset (0 if none). */
function floorIndex(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
