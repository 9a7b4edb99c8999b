/**
 * StoredRaftLog: the Raft log on `@tributary/storage`'s PartitionLog, and the core's synchronous view of it.
 *
 * On disk (one PartitionLog directory): each Raft entry is one record of a record batch v2; one batch holds
 * entries of one epoch (the batch's partitionLeaderEpoch), written by one Ready; Raft offsets ARE the partition's
 * offsets. A record's key is null for data entries and `lc` for the leader-change control entry; its value is the
 * entry's data. Below the log start lives the snapshot (snapshot-store.ts).
 *
 * In memory (what the core reads without I/O, see RaftLog in @tributary/raft):
 *   - the epoch index (one {epoch, startOffset} per epoch present, Kafka's leader-epoch cache), rebuilt by a scan
 *     of the batch headers at open;
 *   - a bounded tail cache [tailStart, endOffset): every entry not yet durable stays in it (so the core can always
 *     read what it appended), durable ones are evicted from its front beyond `maxTailEntries`/`maxTailBytes`;
 *   - a bounded read window of older entries, filled by `load()` before the core needs them: the driver loads the
 *     range the next Ready will hand out as committed, and the range a lagging follower's Fetch will read, before
 *     stepping that Fetch. A read the window cannot serve answers no entries (costs liveness, never safety);
 *     `entryAt` of an entry not loaded is a driver bug and asserts.
 *
 * The core mutates the view at once (append/truncateTo/compact/resetTo); `persist()` applies the same mutations
 * of one Ready to disk later. `#diskValidEnd` tracks up to where the disk agrees with memory, so a window load never
 * brings back an entry the core has already truncated away.
 *
 * Crash safety of each disk mutation:
 *   - append: batches appended, then fsynced (PartitionLog.flush) before persist() resolves.
 *   - truncate at a batch boundary: PartitionLog.truncateTo (fsyncs, checkpoints). Mid-batch (a new leader's log is
 *     shorter inside an epoch), PartitionLog can only cut at the batch start, which would drop entries the core
 *     keeps (possibly acknowledged, so counted toward a commit): the kept part of the batch is first written to
 *     `truncate.redo` atomically, then the batch is cut and the kept entries re-appended and fsynced, then the redo
 *     file removed. Recovery re-applies a redo file found at open.
 *   - install snapshot (reset to an empty log at X): the snapshot file is durable first (the driver), then the
 *     directory is removed and recreated with one empty segment based at X. A crash in between leaves a log that
 *     `open()` reconciles with the snapshot: a log ending at or below X is reset; entries at X of an epoch older
 *     than the snapshot's (left from the log the install replaced) are truncated.
 *   - snapshot created locally: the snapshot file is durable first, then `deleteRecordsBefore(X)` (segment-wise).
 *
 * Concurrency: single-threaded. The driver runs at most one persist() or load() at a time (its pump), so the
 * disk does not change under a load.
 */
import { assert, type Clock, type Logger } from '@tributary/common';
import { decodeRecords, encodeRecordBatch, iterateBatches, type RecordInput } from '@tributary/protocol';
import { entrySizeBytes, type Entry, type OffsetAndEpoch, type RaftLog, type SnapshotId } from '@tributary/raft';
import { LogSegment, PartitionLog, defaultLogConfig, dirname, joinPath, writeFileAtomic, type FileSystem, type LogConfig } from '@tributary/storage';

const LEADER_CHANGE_KEY = Buffer.from('lc');
export const REDO_FILE = 'truncate.redo';

export interface StoredLogLimits {
  /** Entries kept in the tail cache once durable. */
  maxTailEntries: number;
  maxTailBytes: number;
  /** Older entries held for reads (loaded on demand). */
  maxWindowEntries: number;
  maxWindowBytes: number;
  /** Bytes of records per batch written. */
  maxBatchBytes: number;
  /** Bytes per read from the partition while loading or recovering. */
  readChunkBytes: number;
}

export const defaultStoredLogLimits: Readonly<StoredLogLimits> = Object.freeze({
  maxTailEntries: 8192,
  maxTailBytes: 16 * 1024 * 1024,
  maxWindowEntries: 8192,
  maxWindowBytes: 16 * 1024 * 1024,
  maxBatchBytes: 1024 * 1024,
  readChunkBytes: 4 * 1024 * 1024,
});

export interface StoredRaftLogOptions {
  fs: FileSystem;
  /** The partition directory (e.g. <data-dir>/raft-log). */
  dir: string;
  clock: Clock;
  logger: Logger;
  /** The durable snapshot's id (null when none): the log is reconciled with it at open. */
  snapshotId: SnapshotId | null;
  limits?: Partial<StoredLogLimits>;
  logConfig?: Partial<LogConfig>;
}

/** What one Ready asks of the log (after the driver made any snapshot file durable). */
export interface LogWrites {
  installSnapshot: SnapshotId | null;
  persistSnapshot: SnapshotId | null;
  truncateTo: number | null;
  appendEntries: readonly Entry[];
}

interface EpochStart {
  epoch: number;
  startOffset: number;
}

export interface StoredLogStats {
  readMisses: number;
  loads: number;
  entriesLoaded: number;
  midBatchTruncations: number;
  resets: number;
  recoveredRedo: number;
}

export class StoredRaftLog implements RaftLog {
  readonly stats: StoredLogStats = { readMisses: 0, loads: 0, entriesLoaded: 0, midBatchTruncations: 0, resets: 0, recoveredRedo: 0 };
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #limits: StoredLogLimits;
  readonly #logConfig: LogConfig;
  #partition: PartitionLog;

  #start: number;
  #end: number;
  #snapshotId: SnapshotId | null;
  #epochs: EpochStart[] = [];
  /** Tail cache: entries [#end - (#tail.length - #tailHead), #end) live in #tail[#tailHead..]. */
  #tail: Entry[] = [];
  #tailHead = 0;
  #tailBytes = 0;
  #window = new Map<number, Entry>();
  #windowBytes = 0;
  /** Disk entries [#start, #diskValidEnd) equal the memory view's. */
  #diskValidEnd: number;
  /** Set when a Ready is taken: its end, and the lowest truncation made in memory since. */
  #readyEnd: number | null = null;
  #truncatedSinceReady = Number.POSITIVE_INFINITY;

  private constructor(opts: StoredRaftLogOptions, limits: StoredLogLimits, logConfig: LogConfig, partition: PartitionLog, start: number, snapshotId: SnapshotId | null) {
    this.#fs = opts.fs;
    this.#dir = opts.dir;
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.#limits = limits;
    this.#logConfig = logConfig;
    this.#partition = partition;
    this.#start = start;
    this.#end = start;
    this.#snapshotId = snapshotId;
    this.#diskValidEnd = start;
  }

  /** Opens the partition, completes an interrupted truncation, reconciles it with the snapshot and loads the view. */
  static async open(opts: StoredRaftLogOptions): Promise<StoredRaftLog> {
    const limits = { ...defaultStoredLogLimits, ...opts.limits };
    const logConfig: LogConfig = { ...defaultLogConfig, segmentBytes: 64 * 1024 * 1024, retentionMs: -1, retentionBytes: -1, ...opts.logConfig };
    const logger = opts.logger.child({ component: 'raft-log' });
    const partition = await PartitionLog.open({ fs: opts.fs, dir: opts.dir, config: logConfig, clock: opts.clock, logger });
    const snapshotEnd = opts.snapshotId?.endOffset ?? 0;
    const log = new StoredRaftLog({ ...opts, logger }, limits, logConfig, partition, snapshotEnd, opts.snapshotId);
    await log.#recoverRedo();
    await log.#reconcileWithSnapshot();
    await log.#scan();
    return log;
  }

  // ---------------------------------------------------------------- RaftLog (synchronous view)

  get startOffset(): number {
    return this.#start;
  }

  get endOffset(): number {
    return this.#end;
  }

  get snapshotId(): SnapshotId | null {
    return this.#snapshotId;
  }

  get #tailStart(): number {
    return this.#end - (this.#tail.length - this.#tailHead);
  }

  lastEpoch(): number {
    const last = this.#epochs[this.#epochs.length - 1];
    if (last) return last.epoch;
    return this.#snapshotId?.epoch ?? 0;
  }

  #get(offset: number): Entry | undefined {
    if (offset >= this.#tailStart) return this.#tail[this.#tailHead + offset - this.#tailStart];
    return this.#window.get(offset);
  }

  entryAt(offset: number): Entry {
    assert(offset >= this.#start && offset < this.#end, () => `offset ${offset} outside [${this.#start}, ${this.#end})`);
    const entry = this.#get(offset);
    assert(entry !== undefined, () => `entry ${offset} not loaded (tail starts at ${this.#tailStart}): the driver must load() it first`);
    return entry;
  }

  read(fromOffset: number, maxEntries: number, maxBytes: number): Entry[] {
    assert(fromOffset >= this.#start && fromOffset <= this.#end, () => `read from ${fromOffset} outside [${this.#start}, ${this.#end}]`);
    assert(maxEntries > 0 && maxBytes > 0, 'read bounds must be positive');
    const out: Entry[] = [];
    let bytes = 0;
    for (let offset = fromOffset; offset < this.#end && out.length < maxEntries; offset++) {
      const entry = this.#get(offset);
      if (entry === undefined) break;
      const size = entrySizeBytes(entry);
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(entry);
      bytes += size;
    }
    if (out.length === 0 && fromOffset < this.#end) this.stats.readMisses++;
    return out;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null {
    const last = this.lastEpoch();
    if (epoch >= last) return { epoch: last, offset: this.#end };
    for (let i = this.#epochs.length - 1; i >= 0; i--) {
      const e = this.#epochs[i]!;
      if (e.epoch <= epoch) {
        const next = this.#epochs[i + 1];
        assert(next !== undefined, 'an epoch below the last must have a successor');
        return { epoch: e.epoch, offset: next.startOffset };
      }
    }
    if (this.#snapshotId === null) return { epoch: 0, offset: 0 };
    if (epoch >= this.#snapshotId.epoch) return { epoch: this.#snapshotId.epoch, offset: this.#start };
    return null;
  }

  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.offset === this.#end, () => `append at ${entry.offset}, log ends at ${this.#end}`);
      const last = this.lastEpoch();
      assert(entry.epoch >= last && entry.epoch > 0, () => `append epoch ${entry.epoch} after epoch ${last}`);
      this.#noteEpoch(entry);
      this.#tail.push(entry);
      this.#tailBytes += entrySizeBytes(entry);
      this.#end++;
    }
    this.#evictTail();
  }

  truncateTo(offset: number): void {
    assert(offset >= this.#start, () => `truncate to ${offset} below log start ${this.#start}`);
    if (offset >= this.#end) return;
    const tailStart = this.#tailStart;
    if (offset <= tailStart) {
      this.#tail = [];
      this.#tailHead = 0;
      this.#tailBytes = 0;
    } else {
      for (let o = offset; o < this.#end; o++) this.#tailBytes -= entrySizeBytes(this.#tail[this.#tailHead + o - tailStart]!);
      this.#tail.length = this.#tailHead + offset - tailStart;
    }
    for (const [o, e] of this.#window) {
      if (o >= offset) {
        this.#window.delete(o);
        this.#windowBytes -= entrySizeBytes(e);
      }
    }
    this.#end = offset;
    while (this.#epochs.length > 0 && this.#epochs[this.#epochs.length - 1]!.startOffset >= offset) this.#epochs.pop();
    this.#diskValidEnd = Math.min(this.#diskValidEnd, offset);
    this.#truncatedSinceReady = Math.min(this.#truncatedSinceReady, offset);
  }

  compact(id: SnapshotId): void {
    assert(id.endOffset > this.#start && id.endOffset <= this.#end, () => `compact to ${id.endOffset} outside (${this.#start}, ${this.#end}]`);
    assert(this.#epochOf(id.endOffset - 1) === id.epoch, () => `snapshot epoch ${id.epoch} does not match entry ${id.endOffset - 1}`);
    this.#start = id.endOffset;
    this.#snapshotId = id;
    this.#dropBelow(id.endOffset);
    // Epoch index: drop epochs that end at or below the new start; the first kept one starts at the new start.
    this.#epochs = this.#epochs.filter((e, i) => {
      const next = this.#epochs[i + 1];
      return next === undefined ? true : next.startOffset > id.endOffset;
    });
    const first = this.#epochs[0];
    if (first) {
      if (this.#start === this.#end) this.#epochs = [];
      else if (first.startOffset < id.endOffset) first.startOffset = id.endOffset;
    }
  }

  resetTo(id: SnapshotId): void {
    assert(id.endOffset > 0 && id.epoch > 0, () => `bad snapshot id ${JSON.stringify(id)}`);
    this.#tail = [];
    this.#tailHead = 0;
    this.#tailBytes = 0;
    this.#window.clear();
    this.#windowBytes = 0;
    this.#epochs = [];
    this.#start = id.endOffset;
    this.#end = id.endOffset;
    this.#snapshotId = id;
    this.#diskValidEnd = id.endOffset;
    this.#truncatedSinceReady = Math.min(this.#truncatedSinceReady, id.endOffset);
  }

  #epochOf(offset: number): number {
    for (let i = this.#epochs.length - 1; i >= 0; i--) if (this.#epochs[i]!.startOffset <= offset) return this.#epochs[i]!.epoch;
    return this.#snapshotId?.epoch ?? 0;
  }

  #noteEpoch(entry: Entry): void {
    const tail = this.#epochs[this.#epochs.length - 1];
    if (tail === undefined || tail.epoch !== entry.epoch) this.#epochs.push({ epoch: entry.epoch, startOffset: entry.offset });
  }

  #dropBelow(offset: number): void {
    for (const [o, e] of this.#window) {
      if (o < offset) {
        this.#window.delete(o);
        this.#windowBytes -= entrySizeBytes(e);
      }
    }
    while (this.#tail.length > this.#tailHead && this.#tailStart < offset) {
      this.#tailBytes -= entrySizeBytes(this.#tail[this.#tailHead]!);
      this.#tail[this.#tailHead++] = undefined as unknown as Entry;
    }
    this.#compactTailArray();
  }

  /** Drop durable entries from the tail's front beyond its bounds (never an entry not yet on disk). */
  #evictTail(): void {
    const limits = this.#limits;
    while (this.#tail.length - this.#tailHead > limits.maxTailEntries || (this.#tailBytes > limits.maxTailBytes && this.#tail.length - this.#tailHead > 1)) {
      if (this.#tailStart >= this.#diskValidEnd) break;
      this.#tailBytes -= entrySizeBytes(this.#tail[this.#tailHead]!);
      this.#tail[this.#tailHead++] = undefined as unknown as Entry;
    }
    this.#compactTailArray();
  }

  #compactTailArray(): void {
    if (this.#tailHead > 1024 && this.#tailHead * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailHead);
      this.#tailHead = 0;
    }
  }

  // ---------------------------------------------------------------- loading older entries

  /** True when every entry in [from, to) (clamped to the log) can be read without I/O. */
  covers(from: number, to: number): boolean {
    const lo = Math.max(from, this.#start);
    const hi = Math.min(to, this.#end, this.#tailStart);
    for (let o = lo; o < hi; o++) if (!this.#window.has(o)) return false;
    return true;
  }

  /** Loads [from, to) (clamped to the log and to the window's size) from disk into the read window. */
  async load(from: number, to: number): Promise<void> {
    const lo = Math.max(from, this.#start);
    const hi = Math.min(to, this.#end, this.#tailStart, lo + this.#limits.maxWindowEntries);
    if (lo >= hi || this.covers(lo, hi)) return;
    this.stats.loads++;
    // Make room first (oldest loads go first), so what is loaded now stays until it is used.
    for (const [o, e] of this.#window) {
      if (this.#window.size + (hi - lo) <= this.#limits.maxWindowEntries && this.#windowBytes <= this.#limits.maxWindowBytes) break;
      this.#window.delete(o);
      this.#windowBytes -= entrySizeBytes(e);
    }
    let next = lo;
    // Bounded: each read moves `next` forward by at least one entry, or we stop.
    for (let reads = 0; next < hi && reads <= hi - lo; reads++) {
      if (next >= Math.min(hi, this.#diskValidEnd)) break;
      const result = await this.#partition.read(next, { maxBytes: this.#limits.readChunkBytes, minOneMessage: true });
      let progressed = false;
      for (const entry of decodeEntries(result.records)) {
        // Checked after the await: a truncation or reset meanwhile makes disk entries at or above it stale.
        if (entry.offset < next || entry.offset >= Math.min(hi, this.#diskValidEnd) || entry.offset < this.#start) continue;
        if (!this.#window.has(entry.offset) && entry.offset < this.#tailStart) {
          this.#window.set(entry.offset, entry);
          this.#windowBytes += entrySizeBytes(entry);
          this.stats.entriesLoaded++;
        }
        next = entry.offset + 1;
        progressed = true;
      }
      if (!progressed) break;
    }
  }

  // ---------------------------------------------------------------- persistence

  /** The driver took a Ready: later memory truncations are not in it. */
  readyTaken(): void {
    this.#readyEnd = this.#end;
    this.#truncatedSinceReady = Number.POSITIVE_INFINITY;
  }

  /** Applies one Ready's log writes to disk; durable when it resolves. */
  async persist(w: LogWrites): Promise<void> {
    assert(this.#readyEnd !== null, 'persist() without readyTaken()');
    if (w.installSnapshot) await this.#resetDisk(w.installSnapshot.endOffset);
    if (w.persistSnapshot) {
      const p = this.#partition;
      const upTo = Math.min(w.persistSnapshot.endOffset, p.logEndOffset);
      if (upTo > p.logStartOffset) await p.deleteRecordsBefore(upTo);
    }
    if (w.truncateTo !== null) await this.#truncateDisk(w.truncateTo);
    if (w.appendEntries.length > 0) {
      await this.#appendDisk(w.appendEntries);
      await this.#partition.flush();
    }
    const readyEnd = this.#readyEnd;
    this.#readyEnd = null;
    this.#diskValidEnd = Math.min(readyEnd, this.#truncatedSinceReady, this.#end);
    this.#evictTail();
  }

  async #appendDisk(entries: readonly Entry[]): Promise<void> {
    let i = 0;
    // Bounded: each round writes at least one entry.
    while (i < entries.length) {
      const epoch = entries[i]!.epoch;
      const batches: Buffer[] = [];
      const firstOffset = entries[i]!.offset;
      let records: RecordInput[] = [];
      let bytes = 0;
      const nowMs = this.#clock.nowMs();
      const flushBatch = (): void => {
        if (records.length > 0) batches.push(encodeRecordBatch({ records, partitionLeaderEpoch: epoch, baseTimestamp: nowMs }));
        records = [];
        bytes = 0;
      };
      while (i < entries.length && entries[i]!.epoch === epoch) {
        const e = entries[i]!;
        if (records.length > 0 && bytes + e.data.byteLength > this.#limits.maxBatchBytes) flushBatch();
        records.push({ key: e.kind === 'leader-change' ? LEADER_CHANGE_KEY : null, value: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), timestamp: nowMs });
        bytes += e.data.byteLength + 16;
        i++;
      }
      flushBatch();
      const result = await this.#partition.append(Buffer.concat(batches), { leaderEpoch: epoch, nowMs });
      assert(result.firstOffset === firstOffset, () => `raft log append landed at ${result.firstOffset}, expected ${firstOffset}`);
    }
  }

  async #truncateDisk(offset: number): Promise<void> {
    const p = this.#partition;
    if (offset >= p.logEndOffset) return;
    if (offset <= p.logStartOffset) {
      await this.#cutTo(offset);
      return;
    }
    const read = await p.read(offset, { maxBytes: 1, minOneMessage: true });
    const kept = decodeEntries(read.records).filter((e) => e.offset < offset && e.offset >= p.logStartOffset);
    if (kept.length === 0) {
      await p.truncateTo(offset);
      assert(p.logEndOffset === offset, () => `truncation to ${offset} left the log at ${p.logEndOffset}`);
      return;
    }
    // Mid-batch: PartitionLog would cut at the batch start; keep the entries below `offset` across a crash.
    this.stats.midBatchTruncations++;
    await writeFileAtomic(this.#fs, joinPath(this.#dir, REDO_FILE), encodeRedo(kept));
    await this.#applyRedo(kept);
  }

  /** Makes the partition end at kept[0].offset, re-appends `kept`, fsyncs, and removes the redo file. */
  async #applyRedo(kept: readonly Entry[]): Promise<void> {
    const from = kept[0]!.offset;
    await this.#cutTo(from);
    await this.#appendDisk(kept);
    await this.#partition.flush();
    await this.#fs.unlink(joinPath(this.#dir, REDO_FILE));
    await this.#fs.syncDir(this.#dir);
  }

  /** Makes the partition end exactly at `offset` (dropping everything at and above it). */
  async #cutTo(offset: number): Promise<void> {
    const p = this.#partition;
    if (p.logEndOffset > offset && p.logStartOffset <= offset) await p.truncateTo(offset);
    if (p.logEndOffset !== offset || p.logStartOffset > offset) await this.#resetDisk(offset);
  }

  /** Replaces the partition with an empty one starting at `offset`. */
  async #resetDisk(offset: number): Promise<void> {
    this.stats.resets++;
    await this.#partition.delete();
    await this.#fs.mkdir(this.#dir);
    const segment = await LogSegment.create(this.#fs, this.#dir, offset, { indexIntervalBytes: this.#logConfig.indexIntervalBytes, segmentIndexBytes: this.#logConfig.segmentIndexBytes ?? 10 * 1024 * 1024 });
    await segment.flush();
    await segment.close();
    await this.#fs.syncDir(this.#dir);
    await this.#fs.syncDir(dirname(this.#dir));
    this.#partition = await PartitionLog.open({ fs: this.#fs, dir: this.#dir, config: this.#logConfig, clock: this.#clock, logger: this.#logger });
    assert(this.#partition.logStartOffset === offset && this.#partition.logEndOffset === offset, () => `reset to ${offset} opened [${this.#partition.logStartOffset}, ${this.#partition.logEndOffset})`);
  }

  // ---------------------------------------------------------------- recovery

  async #recoverRedo(): Promise<void> {
    const path = joinPath(this.#dir, REDO_FILE);
    if (!(await this.#fs.exists(path))) return;
    const kept = decodeRedo(await this.#fs.readFile(path));
    const p = this.#partition;
    const end = kept.length > 0 ? kept[kept.length - 1]!.offset + 1 : 0;
    if (kept.length === 0 || p.logEndOffset >= end) {
      // The cut never happened (the whole batch is still there), or the re-append completed.
      await this.#fs.unlink(path);
      await this.#fs.syncDir(this.#dir);
      return;
    }
    this.stats.recoveredRedo++;
    this.#logger.warn({ from: kept[0]!.offset, count: kept.length }, 'completing an interrupted mid-batch truncation');
    await this.#applyRedo(kept);
  }

  async #reconcileWithSnapshot(): Promise<void> {
    const x = this.#start;
    if (this.#partition.logEndOffset < x) {
      // Everything on disk is covered by the snapshot, or an install's reset did not complete.
      await this.#resetDisk(x);
      return;
    }
    const p = this.#partition;
    assert(p.logStartOffset <= x, () => `raft log starts at ${p.logStartOffset}, after the snapshot's end ${x}: entries are missing`);
    if (p.logEndOffset > x) {
      const first = decodeEntries((await p.read(x, { maxBytes: 1, minOneMessage: true })).records).find((e) => e.offset === x);
      assert(first !== undefined, () => `entry ${x} missing from the raft log`);
      const snapEpoch = this.#snapshotId?.epoch ?? 0;
      if (first.epoch < snapEpoch) {
        // Left from a log an installed snapshot replaced (the reset did not complete): not ours any more.
        this.#logger.warn({ offset: x, epoch: first.epoch, snapshotEpoch: snapEpoch }, 'dropping log entries older than the snapshot');
        await this.#cutTo(x);
      }
    }
    if (this.#partition.logStartOffset < x) await this.#partition.deleteRecordsBefore(x);
  }

  /** Reads the log once: validates it, builds the epoch index and fills the tail cache. */
  async #scan(): Promise<void> {
    const p = this.#partition;
    const end = p.logEndOffset;
    let next = this.#start;
    const lastEpochBefore = this.#snapshotId?.epoch ?? 0;
    let lastEpoch = lastEpochBefore;
    // Bounded: each read advances `next` by at least one entry or we fail.
    while (next < end) {
      const result = await p.read(next, { maxBytes: this.#limits.readChunkBytes, minOneMessage: true });
      const entries = decodeEntries(result.records).filter((e) => e.offset >= next);
      assert(entries.length > 0, () => `raft log read at ${next} returned nothing before its end ${end}`);
      for (const e of entries) {
        assert(e.offset === next, () => `raft log offsets not dense: ${e.offset} after ${next - 1}`);
        assert(e.epoch >= lastEpoch && e.epoch > 0, () => `raft log epoch ${e.epoch} at ${e.offset} after epoch ${lastEpoch}`);
        lastEpoch = e.epoch;
        this.#noteEpoch(e);
        this.#tail.push(e);
        this.#tailBytes += entrySizeBytes(e);
        next++;
        this.#end = next;
        this.#diskValidEnd = next;
        this.#evictTail();
      }
    }
    this.#end = end;
    this.#diskValidEnd = end;
    this.#logger.info({ startOffset: this.#start, endOffset: end, epochs: this.#epochs.length, tailEntries: this.#tail.length - this.#tailHead }, 'raft log loaded');
  }

  async close(): Promise<void> {
    await this.#partition.close();
  }

  /** For tests and status: the partition's own bounds. */
  get diskBounds(): { startOffset: number; endOffset: number } {
    return { startOffset: this.#partition.logStartOffset, endOffset: this.#partition.logEndOffset };
  }
}

/** Every entry in a buffer of whole record batches (as PartitionLog.read returns). */
export function decodeEntries(records: Buffer): Entry[] {
  const out: Entry[] = [];
  for (const loc of iterateBatches(records)) {
    const batch = records.subarray(loc.position, loc.position + loc.sizeInBytes);
    const { header, records: decoded } = decodeRecords(batch);
    for (const r of decoded) {
      out.push({
        offset: r.offset,
        epoch: header.partitionLeaderEpoch,
        kind: r.key !== null && r.key.equals(LEADER_CHANGE_KEY) ? 'leader-change' : 'data',
        data: r.value ?? new Uint8Array(0),
      });
    }
  }
  return out;
}

/** Redo file: JSON lines would do, but entries carry bytes; a record batch per epoch run is what we write anyway. */
function encodeRedo(entries: readonly Entry[]): Buffer {
  const json = JSON.stringify(entries.map((e) => ({ o: e.offset, e: e.epoch, k: e.kind, d: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64') })));
  return Buffer.from(json);
}

function decodeRedo(data: Buffer): Entry[] {
  const parsed = JSON.parse(data.toString('utf8')) as { o: number; e: number; k: 'data' | 'leader-change'; d: string }[];
  return parsed.map((r) => ({ offset: r.o, epoch: r.e, kind: r.k, data: Buffer.from(r.d, 'base64') }));
}
