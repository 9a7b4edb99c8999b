/**
 * LogSegment: one `.log` file plus its `.index` and `.timeindex`, covering offsets [baseOffset, nextOffset).
 *
 * On disk: `<20-digit zero-padded baseOffset>.log` holds record batches v2 back to back, exactly as received (the
 * log set baseOffset and partitionLeaderEpoch in place before the write; nothing is re-encoded). Positions are int32,
 * so a segment never exceeds 2 GiB. `.index` and `.timeindex` are described in offset-index.ts and time-index.ts.
 *
 * Writes: `append` is one positional write at the current size; in-memory index updates only. `flush` fsyncs the log
 * then writes and fsyncs the indexes, so an index entry never becomes durable before the bytes it points at.
 * Offsets increase from batch to batch; in a segment written by the log cleaner (`appendCleaned`, files suffixed
 * `.cleaned` then `.swap` until swapped in) they may have gaps, and the first batch may start after the base offset.
 *
 * Concurrency: appends, truncation, flush and close come from the PartitionLog writer queue only. Reads may run
 * concurrently with appends: they only read below `size`, which moves after the write completed. Reads hold a
 * reference (`acquire`/`release`) so a deleted segment's handle is closed only after in-flight reads finish.
 */
import { assert } from '@tributary/common';
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  OFF_LAST_OFFSET_DELTA,
  OFF_MAX_TIMESTAMP,
  batchSizeAt,
  checkBatch,
  readBatchHeader,
  readInt64,
  type BatchHeader,
} from './batch-format.ts';
import { joinPath, readAt, type FileHandle, type FileSystem } from './fs/file-system.ts';
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.ts';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';
/** Suffix of a log cleaner's output while it is written (not committed). */
export const CLEANED_SUFFIX = '.cleaned';
/** Suffix of a log cleaner's output once the swap is committed (see log-cleaner.ts). */
export const SWAP_SUFFIX = '.swap';
export const MAX_SEGMENT_BYTES = 0x7fffffff;
/** Scan chunk for recovery and timestamp search. */
const SCAN_CHUNK_BYTES = 1 << 20;

export function segmentFileName(baseOffset: number, suffix: string): string {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `bad segment base offset ${baseOffset}`);
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** Parses `00000000000000000042.log` → 42; null for anything else. */
export function parseSegmentFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const value = Number(stem);
  return Number.isSafeInteger(value) ? value : null;
}

export interface SegmentConfig {
  indexIntervalBytes: number;
  /** Max bytes for each index file (Kafka segment.index.bytes). */
  segmentIndexBytes: number;
}

export type ScanStop = null | 'short' | 'length' | 'magic' | 'crc' | 'header' | 'offset';

export interface ScanResult {
  /** Position after the last good batch. */
  validEnd: number;
  stop: ScanStop;
  batches: number;
}

export class LogSegment {
  readonly baseOffset: number;
  readonly dir: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  #fs: FileSystem;
  #log: FileHandle;
  #logPath: string;
  /** Suffix after `.log` / `.index` / `.timeindex` ('' for a live segment; '.cleaned' / '.swap' while swapping in). */
  #logSuffix: string;
  #indexSuffix: string;
  #config: SegmentConfig;
  /** Bytes of valid batches; reads never go past it. */
  size: number;
  /** Last offset + 1; baseOffset while empty. */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment, -1 when empty. */
  maxTimestamp = -1;
  /** Last offset of the (first) batch carrying maxTimestamp. */
  offsetOfMaxTimestamp = -1;
  /** Start of the segment's age for segment.ms: the first batch's append time (or its timestamp after a reload). */
  rollBaseMs: number | null = null;
  /** maxTimestamp of the first batch, -1 when empty (max.compaction.lag.ms measures dirt from it, like Kafka). */
  firstBatchTimestamp = -1;
  #bytesSinceIndexEntry = 0;
  /** Bytes of the log file known to be fsynced. */
  #syncedSize = 0;
  #readers = 0;
  #closeWhenIdle = false;
  #closed = false;

  private constructor(fs: FileSystem, dir: string, baseOffset: number, log: FileHandle, size: number, offsetIndex: OffsetIndex, timeIndex: TimeIndex, config: SegmentConfig, suffix: string) {
    this.#fs = fs;
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.#log = log;
    this.#logPath = joinPath(dir, segmentFileName(baseOffset, LOG_SUFFIX)) + suffix;
    this.#logSuffix = suffix;
    this.#indexSuffix = suffix;
    this.size = size;
    this.nextOffset = baseOffset;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.#config = config;
  }

  static #maxEntries(config: SegmentConfig, entryBytes: number): number {
    return Math.max(1, Math.floor(config.segmentIndexBytes / entryBytes));
  }

  /**
   * Creates a new empty segment (truncating any stale files of that name). `suffix` ('.cleaned' for the log cleaner's
   * output) is appended to all three file names.
   */
  static async create(fs: FileSystem, dir: string, baseOffset: number, config: SegmentConfig, suffix = ''): Promise<LogSegment> {
    const log = await fs.open(joinPath(dir, segmentFileName(baseOffset, LOG_SUFFIX)) + suffix, 'create');
    await log.truncate(0);
    const offsetIndex = OffsetIndex.empty(joinPath(dir, segmentFileName(baseOffset, INDEX_SUFFIX)) + suffix, baseOffset, LogSegment.#maxEntries(config, OFFSET_INDEX_ENTRY_BYTES));
    const timeIndex = TimeIndex.empty(joinPath(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX)) + suffix, baseOffset, LogSegment.#maxEntries(config, TIME_INDEX_ENTRY_BYTES));
    return new LogSegment(fs, dir, baseOffset, log, 0, offsetIndex, timeIndex, config, suffix);
  }

  /**
   * Opens an existing segment. Loads both indexes and sanity-checks them; `indexesOk` is false when either was
   * missing or corrupt (they are then empty and the caller must `recover()` to rebuild them).
   * `maxRelativeOffset` bounds time-index offsets (next segment base - base - 1, or int32 max for the last one).
   */
  static async open(fs: FileSystem, dir: string, baseOffset: number, config: SegmentConfig, maxRelativeOffset: number, suffix = ''): Promise<{ segment: LogSegment; indexesOk: boolean }> {
    const log = await fs.open(joinPath(dir, segmentFileName(baseOffset, LOG_SUFFIX)) + suffix, 'rw');
    const size = await log.size();
    const indexPath = joinPath(dir, segmentFileName(baseOffset, INDEX_SUFFIX)) + suffix;
    const timeIndexPath = joinPath(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX)) + suffix;
    const maxOffsetEntries = LogSegment.#maxEntries(config, OFFSET_INDEX_ENTRY_BYTES);
    const maxTimeEntries = LogSegment.#maxEntries(config, TIME_INDEX_ENTRY_BYTES);
    let offsetIndex = await OffsetIndex.load(fs, indexPath, baseOffset, maxOffsetEntries, size);
    let timeIndex = await TimeIndex.load(fs, timeIndexPath, baseOffset, maxTimeEntries, maxRelativeOffset);
    const indexesOk = offsetIndex !== null && timeIndex !== null;
    if (!indexesOk) {
      offsetIndex = OffsetIndex.empty(indexPath, baseOffset, maxOffsetEntries);
      timeIndex = TimeIndex.empty(timeIndexPath, baseOffset, maxTimeEntries);
    }
    const segment = new LogSegment(fs, dir, baseOffset, log, size, offsetIndex!, timeIndex!, config, suffix);
    segment.#syncedSize = size;
    return { segment, indexesOk };
  }

  get logPath(): string {
    return this.#logPath;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  get hasUnflushedData(): boolean {
    return this.#syncedSize !== this.size;
  }

  /** True when another append could overflow an index or the int32 relative offset. */
  indexesFullFor(lastOffset: number): boolean {
    return this.offsetIndex.isFull || this.timeIndex.isFull || lastOffset - this.baseOffset > 0x7fffffff;
  }

  /**
   * Appends already-offset-assigned batches (one write) and updates the in-memory indexes.
   * `batches` was validated by the caller; offsets start at `this.nextOffset`.
   */
  async append(batches: Buffer, nowMs: number): Promise<{ position: number; lastOffset: number }> {
    assert(!this.#closed, 'append to a closed segment');
    const position = this.size;
    assert(position + batches.length <= MAX_SEGMENT_BYTES, 'segment would exceed 2 GiB');
    try {
      await this.#log.write(batches, position);
    } catch (err) {
      // Best effort: cut a partial write so the file ends at the last whole batch.
      await this.#log.truncate(position).catch(() => {});
      throw err;
    }
    let pos = 0;
    let lastOffset = this.nextOffset - 1;
    // Bounded: each step advances by a batch size >= 61 bytes (validated by the caller).
    while (pos < batches.length) {
      const size = batchSizeAt(batches, pos);
      const baseOffset = readInt64(batches, pos);
      // Gaps are legal (a follower copying a compacted leader log); overlaps never are.
      assert(size > 0 && baseOffset > lastOffset, 'append: batches must be offset-assigned and increasing');
      lastOffset = baseOffset + batches.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
      this.#indexBatch(baseOffset, lastOffset, readInt64(batches, pos + OFF_MAX_TIMESTAMP), position + pos, size);
      pos += size;
    }
    assert(pos === batches.length, 'append: trailing bytes');
    if (this.rollBaseMs === null) this.rollBaseMs = nowMs;
    if (position === 0) this.firstBatchTimestamp = readInt64(batches, OFF_MAX_TIMESTAMP);
    this.size = position + batches.length;
    this.nextOffset = lastOffset + 1;
    return { position, lastOffset };
  }

  /**
   * Appends batches written by the log cleaner: offsets keep their values, so they only have to increase (gaps are
   * legal in a compacted log). Used on a segment that is not yet part of the log (`.cleaned`).
   */
  async appendCleaned(batches: Buffer): Promise<void> {
    assert(!this.#closed, 'appendCleaned to a closed segment');
    const position = this.size;
    assert(position + batches.length <= MAX_SEGMENT_BYTES, 'cleaned segment would exceed 2 GiB');
    let pos = 0;
    let lastOffset = this.size === 0 ? this.baseOffset - 1 : this.nextOffset - 1;
    const indexed: [number, number, number, number, number][] = [];
    // Bounded: each step advances by a batch size >= 61 bytes.
    while (pos < batches.length) {
      const size = batchSizeAt(batches, pos);
      assert(size > 0 && pos + size <= batches.length, 'appendCleaned: bad batch length');
      const baseOffset = readInt64(batches, pos);
      assert(baseOffset > lastOffset, () => `appendCleaned: offset ${baseOffset} after ${lastOffset}`);
      const batchLast = baseOffset + batches.readInt32BE(pos + OFF_LAST_OFFSET_DELTA);
      assert(batchLast >= baseOffset && batchLast - this.baseOffset <= 0x7fffffff, 'appendCleaned: offset outside the segment');
      indexed.push([baseOffset, batchLast, readInt64(batches, pos + OFF_MAX_TIMESTAMP), position + pos, size]);
      lastOffset = batchLast;
      pos += size;
    }
    await this.#log.write(batches, position);
    for (const [baseOffset, batchLast, maxTimestamp, at, size] of indexed) this.#indexBatch(baseOffset, batchLast, maxTimestamp, at, size);
    if (position === 0 && indexed.length > 0) {
      this.firstBatchTimestamp = indexed[0]![2];
      this.rollBaseMs = this.firstBatchTimestamp;
    }
    this.size = position + batches.length;
    this.nextOffset = lastOffset + 1;
  }

  /**
   * Renames the index files (`which` = 'indexes') or the log file ('log') from their current suffix to `suffix`
   * (the cleaner's swap: '.cleaned' → '.swap' → ''). The open handle keeps working across the rename. The caller
   * fsyncs the directory.
   */
  async renameFiles(which: 'indexes' | 'log', suffix: string): Promise<void> {
    if (which === 'log') {
      const to = this.#logPath.slice(0, this.#logPath.length - this.#logSuffix.length) + suffix;
      await this.#fs.rename(this.#logPath, to);
      this.#logPath = to;
      this.#logSuffix = suffix;
      return;
    }
    for (const index of [this.timeIndex, this.offsetIndex]) {
      const to = index.path.slice(0, index.path.length - this.#indexSuffix.length) + suffix;
      await this.#fs.rename(index.path, to);
      index.path = to;
    }
    this.#indexSuffix = suffix;
  }

  #indexBatch(baseOffset: number, lastOffset: number, maxTimestamp: number, position: number, size: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.#bytesSinceIndexEntry > this.#config.indexIntervalBytes && !this.offsetIndex.isFull) {
      this.offsetIndex.append(baseOffset, position);
      // Batches without timestamps (-1) leave no time-index entry.
      if (this.offsetOfMaxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.#bytesSinceIndexEntry = 0;
    }
    this.#bytesSinceIndexEntry += size;
  }

  /** Called when the segment stops being active: the time index gets the final max timestamp. */
  onRolled(): void {
    if (this.offsetOfMaxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp, true);
  }

  /** Reads log bytes [position, position+length) into buf at bufOffset; never past `size`. */
  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
    assert(position >= 0 && length >= 0, () => `segment read at ${position} length ${length}`);
    // A concurrent truncation may have shrunk the segment: never read past the current size.
    const n = Math.max(0, Math.min(length, this.size - position));
    return n === 0 ? 0 : readAt(this.#log, buf, bufOffset, n, position);
  }

  /** Pins the handle for a read; false if the segment was already deleted/closed. */
  acquire(): boolean {
    if (this.#closed || this.#closeWhenIdle) return false;
    this.#readers++;
    return true;
  }

  release(): void {
    assert(this.#readers > 0, 'release without acquire');
    this.#readers--;
    if (this.#readers === 0 && this.#closeWhenIdle) void this.#closeNow();
  }

  /**
   * Scans batches in [from, to) chunk by chunk, checking each (CRC too when `verifyCrc`), and calls `visit` with each
   * good header. Stops at the first bad or incomplete batch. Never throws on garbage. When `shouldYield` says so after
   * a batch, the scan gives the event loop a turn before the next one.
   */
  async scan(
    from: number,
    to: number,
    verifyCrc: boolean,
    visit: (header: BatchHeader, position: number, chunk: Buffer, chunkPos: number) => boolean | void,
    shouldYield?: () => boolean,
  ): Promise<ScanResult> {
    let pos = from;
    let batches = 0;
    const maxRounds = Math.ceil((to - from) / BATCH_HEADER_BYTES) + 2;
    for (let round = 0; round < maxRounds && pos < to; round++) {
      let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, to - pos));
      let n = await readAt(this.#log, chunk, 0, chunk.length, pos);
      if (n < Math.min(BATCH_HEADER_BYTES, to - pos)) return { validEnd: pos, stop: 'short', batches };
      let p = 0;
      // Bounded by chunk length / 61.
      while (p < n) {
        if (n - p < BATCH_HEADER_BYTES) {
          if (pos + p + BATCH_HEADER_BYTES > to) return { validEnd: pos + p, stop: 'short', batches };
          break; // header straddles the chunk: next round starts here
        }
        const size = batchSizeAt(chunk, p);
        if (size < 0) return { validEnd: pos + p, stop: 'length', batches };
        if (pos + p + size > to) return { validEnd: pos + p, stop: 'short', batches };
        if (p + size > n) {
          if (p > 0) break;
          // A batch bigger than the chunk: read it whole.
          chunk = Buffer.allocUnsafe(size);
          n = await readAt(this.#log, chunk, 0, size, pos);
          if (n < size) return { validEnd: pos, stop: 'short', batches };
        }
        let header: BatchHeader;
        if (verifyCrc) {
          const check = checkBatch(chunk, p, p + size);
          if (!check.ok) return { validEnd: pos + p, stop: check.reason, batches };
          header = check.header;
        } else {
          header = readBatchHeader(chunk, p);
          if (header.magic !== BATCH_MAGIC || !Number.isSafeInteger(header.baseOffset) || header.lastOffsetDelta < 0) {
            return { validEnd: pos + p, stop: 'header', batches };
          }
        }
        batches++;
        if (visit(header, pos + p, chunk, p) === false) return { validEnd: pos + p + size, stop: null, batches };
        p += size;
        // A long synchronous run over a chunk of small batches (the log cleaner decodes each) lets other work in.
        if (shouldYield?.() === true) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      pos += p;
    }
    return { validEnd: pos, stop: null, batches };
  }

  /**
   * Re-validates the whole segment (CRC of every batch, offsets increasing from the base), rebuilds both indexes and
   * the in-memory state, and truncates the file after the last good batch. Returns the bytes truncated.
   */
  async recover(): Promise<{ truncatedBytes: number; stop: ScanStop; batches: number }> {
    const fileSize = await this.#log.size();
    this.offsetIndex.truncateToEntries(0);
    this.timeIndex.truncateTo(this.baseOffset);
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.#bytesSinceIndexEntry = 0;
    this.rollBaseMs = null;
    this.firstBatchTimestamp = -1;
    let expected = this.baseOffset;
    let acceptedEnd = 0;
    let accepted = 0;
    let offsetStop = false;
    const result = await this.scan(0, fileSize, true, (header, position) => {
      if (header.baseOffset < expected || header.baseOffset + header.lastOffsetDelta - this.baseOffset > 0x7fffffff) {
        offsetStop = true;
        return false;
      }
      if (this.rollBaseMs === null) {
        this.rollBaseMs = header.maxTimestamp;
        this.firstBatchTimestamp = header.maxTimestamp;
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      this.#indexBatch(header.baseOffset, lastOffset, header.maxTimestamp, position, header.sizeInBytes);
      expected = lastOffset + 1;
      acceptedEnd = position + header.sizeInBytes;
      accepted++;
      return true;
    });
    const stop: ScanStop = offsetStop ? 'offset' : result.stop;
    const batches = accepted;
    const validEnd = acceptedEnd;
    this.size = validEnd;
    this.nextOffset = batches === 0 ? this.baseOffset : expected;
    if (this.size === 0) {
      this.rollBaseMs = null;
      this.firstBatchTimestamp = -1;
    }
    const truncatedBytes = fileSize - validEnd;
    if (truncatedBytes > 0) {
      await this.#log.truncate(validEnd);
    }
    // What survived may still sit only in the page cache (process crash): make it durable before trusting it.
    await this.#log.sync();
    this.#syncedSize = this.size;
    return { truncatedBytes, stop, batches };
  }

  /**
   * Loads the in-memory state of a segment whose data is trusted (clean shutdown or below the recovery point) from
   * its indexes, scanning only from the last offset-index entry to the end (with CRC checks). `isLast` controls
   * whether the tail is scanned (only the last segment's next offset matters). Returns false if the tail is bad, in
   * which case the caller must `recover()`.
   */
  async loadTrusted(nextSegmentBase: number | null): Promise<boolean> {
    const lastTime = this.timeIndex.lastEntry();
    if (lastTime !== null) {
      this.maxTimestamp = lastTime.timestamp;
      this.offsetOfMaxTimestamp = lastTime.offset;
    }
    if (this.size === 0) {
      this.nextOffset = this.baseOffset;
      return lastTime === null && this.offsetIndex.entries === 0;
    }
    const first = Buffer.alloc(BATCH_HEADER_BYTES);
    if ((await readAt(this.#log, first, 0, BATCH_HEADER_BYTES, 0)) < BATCH_HEADER_BYTES) return false;
    const firstCheck = readBatchHeader(first, 0);
    if (firstCheck.magic !== BATCH_MAGIC || !(firstCheck.baseOffset >= this.baseOffset)) return false;
    if (!Number.isSafeInteger(firstCheck.maxTimestamp)) return false;
    this.rollBaseMs = firstCheck.maxTimestamp;
    this.firstBatchTimestamp = firstCheck.maxTimestamp;
    if (nextSegmentBase !== null) {
      // Closed segment: its extent is known from the next one; its max timestamp from the final time index entry.
      this.nextOffset = nextSegmentBase;
      if (lastTime === null) return false;
      this.#bytesSinceIndexEntry = 0;
      return true;
    }
    const last = this.offsetIndex.lastEntry();
    let expected = last.offset;
    let ok = true;
    const result = await this.scan(last.position, this.size, true, (header, position) => {
      if (header.baseOffset < expected || (position === last.position && header.baseOffset !== last.offset)) {
        ok = false;
        return false;
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (header.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = header.maxTimestamp;
        this.offsetOfMaxTimestamp = lastOffset;
      }
      expected = lastOffset + 1;
      this.#bytesSinceIndexEntry += header.sizeInBytes;
      return true;
    });
    if (!ok || result.stop !== null || result.validEnd !== this.size) return false;
    // Time-index entries must not point past the end (bit rot that kept the ordering).
    if (lastTime !== null && lastTime.offset >= expected) return false;
    this.nextOffset = expected;
    return true;
  }

  /**
   * Finds the position of the first batch whose last offset >= `offset`; -1 if none (offset past the segment).
   * Uses the offset index then scans headers only.
   */
  async positionOf(offset: number): Promise<{ position: number; header: BatchHeader } | null> {
    const start = this.offsetIndex.lookup(offset);
    let found: { position: number; header: BatchHeader } | null = null;
    await this.scan(start.position, this.size, false, (header, position) => {
      if (header.baseOffset + header.lastOffsetDelta >= offset) {
        found = { position, header };
        return false;
      }
      return true;
    });
    return found;
  }

  /**
   * Drops every batch containing offsets >= `offset` (cut at the batch holding it). `endsInGap`: the new end lies
   * past the last batch left (the cut fell in a gap the cleaner left), which a reload could not derive from the data.
   */
  async truncateTo(offset: number): Promise<{ removedBytes: number; endsInGap: boolean }> {
    const at = await this.positionOf(offset);
    let removedBytes = 0;
    if (at === null) {
      // Nothing at or after `offset`: the cut falls in a gap after the last batch. The end becomes `offset` itself (as
      // Kafka sets the log end to the truncation offset), so offsets the cleaner emptied are not handed out again.
      this.nextOffset = Math.max(offset, this.baseOffset);
    } else {
      removedBytes = this.size - at.position;
      await this.#log.truncate(at.position);
      await this.#log.sync();
      this.size = at.position;
      this.#syncedSize = Math.min(this.#syncedSize, this.size);
      // A compacted segment may have a gap before the cut batch: the end is then `offset` itself, never past it.
      this.nextOffset = at.position === 0 ? this.baseOffset : Math.min(at.header.baseOffset, offset);
      this.offsetIndex.truncateTo(at.header.baseOffset);
      this.timeIndex.truncateTo(at.header.baseOffset);
      // Recompute the max timestamp from what is left: the time index's last entry is a lower bound; the rescan below
      // from the last offset index entry makes it exact (bounded by about one index interval).
      const lastTime = this.timeIndex.lastEntry();
      this.maxTimestamp = lastTime?.timestamp ?? -1;
      this.offsetOfMaxTimestamp = lastTime?.offset ?? -1;
    }
    const from = this.offsetIndex.lastEntry().position;
    this.#bytesSinceIndexEntry = 0;
    let dataEnd = this.baseOffset;
    await this.scan(from, this.size, false, (header) => {
      if (header.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = header.maxTimestamp;
        this.offsetOfMaxTimestamp = header.baseOffset + header.lastOffsetDelta;
      }
      this.#bytesSinceIndexEntry += header.sizeInBytes;
      dataEnd = header.baseOffset + header.lastOffsetDelta + 1;
    });
    if (this.size === 0) {
      this.rollBaseMs = null;
      this.firstBatchTimestamp = -1;
    }
    return { removedBytes, endsInGap: this.nextOffset > dataEnd };
  }

  /**
   * fsync the log, then (unless `indexes` is false) write + fsync the indexes. The active segment's indexes may be
   * skipped: recovery rebuilds them whenever the log was not closed cleanly.
   */
  async flush(indexes = true): Promise<void> {
    if (this.#syncedSize !== this.size) {
      await this.#log.sync();
      this.#syncedSize = this.size;
    }
    if (!indexes) return;
    await this.offsetIndex.flush(this.#fs);
    await this.timeIndex.flush(this.#fs);
  }

  /** Renames the three files to `*.deleted` then unlinks them; the handle closes once no read holds it. */
  async delete(): Promise<void> {
    const paths = [this.#logPath, this.offsetIndex.path, this.timeIndex.path];
    for (const path of paths) {
      if (!(await this.#fs.exists(path))) continue;
      await this.#fs.rename(path, path + DELETED_SUFFIX);
    }
    for (const path of paths) {
      if (await this.#fs.exists(path + DELETED_SUFFIX)) await this.#fs.unlink(path + DELETED_SUFFIX);
    }
    await this.close();
  }

  /** Closes the log handle now, or once in-flight reads release it. */
  async close(): Promise<void> {
    if (this.#readers > 0) {
      this.#closeWhenIdle = true;
      return;
    }
    await this.#closeNow();
  }

  async #closeNow(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#log.close();
  }
}
